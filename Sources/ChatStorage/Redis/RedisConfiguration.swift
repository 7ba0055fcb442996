/// Where Redis is and how patient to be with it.
public struct RedisConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    /// The logical database (`SELECT`), from the URL's path.
    public var database: Int?
    /// TLS on every connection (`rediss://`); nil: plain TCP.
    public var tls: BackendTLS?
    /// Whether room and presence channels are shard channels (SPUBLISH/SSUBSCRIBE): true on Redis Cluster.
    public var shardedPubSub: Bool = false
    /// The seed nodes of a Redis Cluster (`redis+cluster://`); empty: one Redis at ``host``.
    public var clusterNodes: [BackendEndpoint.Address] = []
    /// How often a cluster client reads the slot map again even when no redirect asked for it.
    public var clusterMapRefreshInterval: Duration = .seconds(10)
    /// How long one connection attempt may take; a command issued while Redis is unreachable
    /// fails after at most this long instead of queueing without bound.
    public var connectTimeout: Duration = .seconds(2)
    /// How long a reply may take before the connection is considered stuck and replaced.
    public var commandTimeout: Duration = .seconds(5)
    /// The first wait between reconnect attempts; it doubles after each failure up to
    /// ``maximumBackoff`` and resets once a connection is up.
    public var initialBackoff: Duration = .milliseconds(50)
    public var maximumBackoff: Duration = .seconds(2)

    public init(host: String, port: Int = 6379, user: String? = nil, password: String? = nil, database: Int? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// The configuration for `--redis redis://[user[:password]@]host[:port][/db]`.
    public init(endpoint: BackendEndpoint) throws(BackendEndpoint.InvalidURL) {
        var database: Int?
        if let path = endpoint.database {
            guard let number = Int(path), number >= 0 else {
                throw BackendEndpoint.InvalidURL(description: "invalid --redis URL '\(endpoint)': the path must be a database number")
            }
            database = number
        }
        if endpoint.isCluster, let database, database != 0 {
            throw BackendEndpoint.InvalidURL(description: "invalid --redis URL '\(endpoint)': a Redis Cluster has only database 0")
        }
        // A URL with only a password is written redis://:secret@host, which parses as an empty user.
        let user = endpoint.user.flatMap { $0.isEmpty ? nil : $0 }
        self.init(host: endpoint.host, port: endpoint.port, user: user, password: endpoint.password, database: database)
        self.tls = endpoint.tls
        if endpoint.isCluster {
            self.database = nil
            self.clusterNodes = endpoint.addresses
            self.shardedPubSub = true
        }
    }

    /// Whether this names a Redis Cluster rather than one Redis.
    public var isCluster: Bool { !clusterNodes.isEmpty }

    /// The configuration of one node of the cluster: the same credentials, TLS and timeouts.
    func node(_ address: BackendEndpoint.Address) -> RedisConfiguration {
        var node = self
        node.host = address.host
        node.port = address.port
        node.clusterNodes = []
        node.database = nil
        return node
    }

    /// `host:port`, for messages (never the password).
    var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// The URL without its password: what a log line or an interpolated error shows.
    public var description: String {
        let credentials = password == nil ? (user.map { "\($0)@" } ?? "") : "\(user ?? ""):***@"
        let hosts = isCluster ? clusterNodes.map(\.description).joined(separator: ",") : address
        return "\(tls == nil ? "redis" : "rediss")\(isCluster ? "+cluster" : "")://\(credentials)\(hosts)\(database.map { "/\($0)" } ?? "")"
    }

    public var debugDescription: String { description }
}
