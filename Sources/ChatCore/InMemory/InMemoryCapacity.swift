/// How much the in-memory stores hold at most: without a database, every user and room lives
/// in process memory, so a client creating them in a loop must hit a wall, not the OOM killer.
public struct InMemoryCapacity: Sendable, Equatable {
    /// Users at most (`POST /v1/users` answers 507 beyond it).
    public var users: Int
    /// Chat rooms at most (`POST /v1/chatrooms` answers 507 beyond it).
    public var rooms: Int

    public init(users: Int = 1_000_000, rooms: Int = 100_000) {
        self.users = users
        self.rooms = rooms
    }
}
