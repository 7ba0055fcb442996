/// The admin listener (docs/operations.md, "Admin API"): metrics, health and the admin API on
/// an address of its own, by default loopback only, so none of it is public by default.
public struct AdminSettings: Sendable {
    public var host: String
    /// 0 picks a free port (see ``AdminServer/listeningPort()``).
    public var port: Int
    /// The bearer token every `/v1/admin/` route needs; nil: the admin API is refused (403).
    public var token: String?
    /// How often this server's heartbeat (the node list, rooms and presence) is written; it
    /// expires after three intervals without one.
    public var heartbeatInterval: Duration
    /// What `version` the node list shows.
    public var version: String

    public init(
        host: String = "127.0.0.1", port: Int = 9090, token: String? = nil, heartbeatInterval: Duration = .seconds(5),
        version: String = "dev"
    ) {
        self.host = host
        self.port = port
        self.token = token
        self.heartbeatInterval = heartbeatInterval
        self.version = version
    }
}
