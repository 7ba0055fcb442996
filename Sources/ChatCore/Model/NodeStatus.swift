/// One chatd server as its heartbeat describes it (``ClusterControl``): the admin API's node
/// list, and where its rooms and presence across servers come from.
public struct NodeStatus: Sendable, Codable, Equatable {
    /// The server's ``ServerID``.
    public var id: String
    /// Where its API listens, `host:port`.
    public var address: String
    /// Joined WebSockets.
    public var connections: Int
    /// When it started and when it sent this beat, milliseconds since 1970.
    public var startedAt: Int64
    public var lastSeen: Int64
    public var version: String
    /// Connections per user per room on this server: room id -> user name -> connections.
    public var presence: [String: [String: Int]]

    public init(
        id: String, address: String, connections: Int, startedAt: Int64, lastSeen: Int64, version: String,
        presence: [String: [String: Int]] = [:]
    ) {
        self.id = id
        self.address = address
        self.connections = connections
        self.startedAt = startedAt
        self.lastSeen = lastSeen
        self.version = version
        self.presence = presence
    }

    /// Rooms with at least one connection on this server.
    public var rooms: Int { presence.count }
}
