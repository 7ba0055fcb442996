/// Who is in which room right now, across every server.
///
/// Presence is kept per connection: a user is listed while at least one of their connections is
/// in the room. Implementations that span servers must drop the connections of a server that
/// vanished without saying goodbye (see ``reap(server:)``).
public protocol PresenceStore: Sendable {
    func enter(_ user: UserName, room: RoomID, connection: ConnectionID) async throws
    func leave(_ user: UserName, room: RoomID, connection: ConnectionID) async throws
    /// Users with at least one live connection in `room`, each once, sorted by name.
    func users(in room: RoomID) async throws -> [UserName]
    /// Removes every connection held by `server` (a server that shut down or died).
    func reap(server: ServerID) async throws

    /// Starts telling `deliver` of `room`'s ``PresenceEvent``s from now on: a user's first
    /// connection entering, their last one leaving or being reaped, each once, whichever
    /// server made the change. The closure is called serially and must not block.
    func watch(_ room: RoomID, deliver: @escaping @Sendable (PresenceEvent) -> Void) async throws -> any BrokerSubscription
}
