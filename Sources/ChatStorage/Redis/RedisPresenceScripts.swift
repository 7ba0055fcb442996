import ChatCore

/// Presence changes that touch several keys, each atomic in Redis so that a sweeper on another
/// server never sees a connection listed in a room but missing from its server's room set.
///
/// Every script touches the keys of one partition only (``RedisKeys``: the room hash, the
/// server's room set of that partition, the partition's scored server set), all of them given
/// in KEYS with the first one routing the call on a cluster. A server's lease is its score in
/// each partition's server set (when it expires, in Redis's clock: `TIME`), so the check "has
/// this lease expired?" and the reap are one atomic step in one slot.
///
/// Each script also publishes the room's presence events on its channel
/// (``RedisKeys/presenceChannel(_:database:sharded:)``) with the command the caller names
/// (PUBLISH, or SPUBLISH for shard channels), `join NAME` for a user's first connection and
/// `leave NAME` for their last, in the same atomic step as the change. Telling first from
/// last reads the room's hash: O(connections in the room) per change.
enum RedisPresenceScripts {
    /// KEYS of ``enter``: all in the room's partition.
    static func enterKeys(room: RoomID, server: ServerID) -> [String] {
        let partition = RedisKeys.partition(of: room)
        return [RedisKeys.presence(room), RedisKeys.serverRooms(server, partition: partition), RedisKeys.presenceServers(partition)]
    }

    /// KEYS of ``reap``, for the rooms the server's room set of `partition` held when read.
    static func reapKeys(server: ServerID, partition: Int, rooms: [RoomID]) -> [String] {
        [RedisKeys.serverRooms(server, partition: partition), RedisKeys.presenceServers(partition)] + rooms.map(RedisKeys.presence)
    }

    /// Whether `user` still has a connection in the room hash `key`, and Redis's clock in ms.
    private static let helpers = """
        local function present(key, user)
            for _, name in ipairs(redis.call('HVALS', key)) do
                if name == user then return true end
            end
            return false
        end
        local function now()
            local time = redis.call('TIME')
            return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        end
        """

    /// KEYS: room hash, server's room set (the room's partition), the partition's server set.
    /// ARGV: field (`server/number`), user name, room id, server id, presence channel, lease in
    /// milliseconds, publish command. The server's lease in the partition is extended, never
    /// shortened (ZADD GT).
    /// Returns 1 when this was the user's first connection in the room.
    static let enter = helpers + """

        local first = not present(KEYS[1], ARGV[2])
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[3])
        redis.call('ZADD', KEYS[3], 'GT', string.format('%d', now() + tonumber(ARGV[6])), ARGV[4])
        if first then
            redis.call(ARGV[7], ARGV[5], 'join ' .. ARGV[2])
            return 1
        end
        return 0
        """

    /// KEYS: room hash. ARGV: field, user name, presence channel, publish command.
    /// Returns 1 when this was the user's last connection in the room.
    static let leave = helpers + """

        if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and not present(KEYS[1], ARGV[2]) then
            redis.call(ARGV[4], ARGV[3], 'leave ' .. ARGV[2])
            return 1
        end
        return 0
        """

    /// Renews a server's lease in one partition, if it is still listed there.
    /// KEYS: the partition's server set. ARGV: server id, lease in milliseconds.
    /// Returns 1 when renewed, 0 when the server is not listed (reaped, or never entered there):
    /// then it announces its connections of that partition again.
    static let refresh = helpers + """

        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
        redis.call('ZADD', KEYS[1], string.format('%d', now() + tonumber(ARGV[2])), ARGV[1])
        return 1
        """

    /// Removes every connection of one server from the rooms of one partition, and announces
    /// the leave of each user left without a connection there.
    /// KEYS: the server's room set of the partition, the partition's server set, then the hash
    /// of every room the caller read from the room set (SMEMBERS) just before.
    /// ARGV: server id, '1' to reap only when the lease has expired (sweepers) or '0' (goodbye),
    /// prefix of the partition's presence channels (the room id is appended), publish command,
    /// then the room ids in the order of their KEYS.
    /// Returns the number of connections removed, -1 when the lease is still held, or -2 when
    /// the room set holds a room that was not declared (it changed since the caller read it:
    /// read again and retry), in which case nothing was changed.
    static let reap = helpers + """

        if ARGV[2] == '1' then
            local expires = redis.call('ZSCORE', KEYS[2], ARGV[1])
            if expires and tonumber(expires) > now() then return -1 end
        end
        local declared = {}
        for i = 5, #ARGV do declared[ARGV[i]] = KEYS[i - 2] end
        local rooms = redis.call('SMEMBERS', KEYS[1])
        for _, room in ipairs(rooms) do
            if not declared[room] then return -2 end
        end
        local prefix = ARGV[1] .. '/'
        local removed = 0
        for _, room in ipairs(rooms) do
            local key = declared[room]
            local users = {}
            local fields = redis.call('HGETALL', key)
            for i = 1, #fields, 2 do
                local field = fields[i]
                if string.sub(field, 1, #prefix) == prefix and string.find(string.sub(field, #prefix + 1), '^%d+$') then
                    redis.call('HDEL', key, field)
                    users[fields[i + 1]] = true
                    removed = removed + 1
                end
            end
            for user in pairs(users) do
                if not present(key, user) then
                    redis.call(ARGV[4], ARGV[3] .. room, 'leave ' .. user)
                end
            end
        end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return removed
        """
}
