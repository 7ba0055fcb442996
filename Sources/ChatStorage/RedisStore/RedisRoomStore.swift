import ChatCore

/// Chat rooms in Redis, shared by every chatd on it: the room store of `--redis` without
/// `--mariadb`.
///
/// One script takes the next id from a counter (INCR) and lists the room in a sorted set
/// scored by its id, so ids grow strictly across all servers, a listed room always has its id
/// and the list reads out ascending.
public struct RedisRoomStore: RoomStore {
    private let client: any RedisCommandRunning

    /// KEYS: the room counter, the room set. Returns the new room's id. The member is written
    /// with `%d`: Lua would print a large number with an exponent, which ZSCORE by the decimal id
    /// would then not find.
    static let createScript = RedisScript(
        """
        local id = redis.call('INCR', KEYS[1])
        redis.call('ZADD', KEYS[2], id, string.format('%d', id))
        return id
        """
    )

    public init(client: any RedisCommandRunning) {
        self.client = client
    }

    public func create() async throws -> RoomID {
        let reply = try await RedisStoreFailure.mapping {
            try await Self.createScript.run(on: client, keys: [RedisKeys.storeRoomCounter, RedisKeys.storeRooms], arguments: [])
        }
        guard let id = reply.int, id > 0 else { throw RedisError("the room script returned \(reply), not an id") }
        return RoomID(id)
    }

    public func all() async throws -> [RoomID] {
        let reply = try await RedisStoreFailure.mapping { try await client.command(["ZRANGE", RedisKeys.storeRooms, "0", "-1"]) }
        guard let members = reply.array else { throw RedisError("ZRANGE \(RedisKeys.storeRooms) returned \(reply)") }
        return try members.map { member in
            guard let id = member.int else { throw RedisError("\(RedisKeys.storeRooms) holds \(member), not a room id") }
            return RoomID(id)
        }
    }

    public func contains(_ room: RoomID) async throws -> Bool {
        try await RedisStoreFailure.mapping {
            try await !client.command(["ZSCORE", RedisKeys.storeRooms, String(room.rawValue)]).isNull
        }
    }
}
