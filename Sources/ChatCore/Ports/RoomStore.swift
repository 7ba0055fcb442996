/// Where chat rooms are kept (MariaDB `chatrooms` in production).
public protocol RoomStore: Sendable {
    /// Creates a room with a fresh id, larger than every id handed out before.
    func create() async throws -> RoomID
    /// Every room, ascending by id.
    func all() async throws -> [RoomID]
    func contains(_ room: RoomID) async throws -> Bool
}
