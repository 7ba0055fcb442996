/// What chatd servers tell each other for the admin API: each server's heartbeat (the node list)
/// and admin commands every server carries out (Redis: a key with a TTL per server and the
/// Pub/Sub channel `chatd:control`; in memory: this process only).
///
/// Contract:
/// - ``beat(_:ttl:)`` records a server's ``NodeStatus``, replacing its previous one; the status
///   is listed by ``nodes()`` until `ttl` passes without another beat, or ``withdraw(_:)``.
/// - ``nodes()`` lists every server with a live heartbeat, each once, sorted by id.
/// - ``broadcast(_:)`` hands the command to every listener of every server, this one's
///   included, each once; a listener is live once ``listen(_:)`` returns, and hears nothing
///   after its subscription is cancelled.
public protocol ClusterControl: Sendable {
    func beat(_ status: NodeStatus, ttl: Duration) async throws
    func nodes() async throws -> [NodeStatus]
    func withdraw(_ server: ServerID) async throws
    func broadcast(_ command: ControlCommand) async throws
    /// Calls `deliver` for every command broadcast from now on; serially, must not block.
    func listen(_ deliver: @escaping @Sendable (ControlCommand) -> Void) async throws -> any BrokerSubscription
}
