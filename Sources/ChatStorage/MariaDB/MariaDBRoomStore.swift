import ChatCore

/// Chat rooms in MariaDB's `chatrooms` table.
///
/// Ids come from `AUTO_INCREMENT`, which InnoDB never hands out twice and (since MariaDB
/// 10.2) keeps across restarts, so a new room's id is larger than every id before it on every
/// server of the deployment.
public struct MariaDBRoomStore: RoomStore {
    private let pool: MariaDBConnectionPool

    public init(pool: MariaDBConnectionPool) {
        self.pool = pool
    }

    public func create() async throws -> RoomID {
        let execution = try await pool.execute("INSERT INTO chatrooms () VALUES ()")
        return RoomID(Int64(execution.insertID))
    }

    public func all() async throws -> [RoomID] {
        try await pool.query("SELECT id FROM chatrooms ORDER BY id").compactMap { row in row.first?.int.map { RoomID($0) } }
    }

    public func contains(_ room: RoomID) async throws -> Bool {
        try await !pool.query("SELECT 1 FROM chatrooms WHERE id = ? LIMIT 1", [.int(room.rawValue)]).isEmpty
    }
}
