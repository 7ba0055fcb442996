import ChatCore

/// Which backend serves each port: a URL where the operator configured one, in-memory otherwise.
public struct BackendSelection: Sendable {
    public var redis: BackendEndpoint?
    public var mariadb: BackendEndpoint?
    public var elasticsearch: BackendEndpoint?

    public init(redis: BackendEndpoint? = nil, mariadb: BackendEndpoint? = nil, elasticsearch: BackendEndpoint? = nil) {
        self.redis = redis
        self.mariadb = mariadb
        self.elasticsearch = elasticsearch
    }

    /// Parses the three optional URLs; an empty string counts as not configured.
    public init(redis: String?, mariadb: String?, elasticsearch: String?) throws(BackendEndpoint.InvalidURL) {
        func parse(_ kind: BackendEndpoint.Kind, _ url: String?) throws(BackendEndpoint.InvalidURL) -> BackendEndpoint? {
            guard let url, !url.isEmpty else { return nil }
            return try BackendEndpoint(kind: kind, url: url)
        }
        self.redis = try parse(.redis, redis)
        self.mariadb = try parse(.mariadb, mariadb)
        self.elasticsearch = try parse(.elasticsearch, elasticsearch)
    }

    /// A line for the startup log: which backend each port runs on.
    public var summary: String {
        [
            "users, rooms: \(mariadb.map { "MariaDB \($0)" } ?? "in-memory")",
            "broker, presence, cache: \(redis.map { "Redis \($0)" } ?? "in-memory")",
            "chat log: \(elasticsearch.map { "Elasticsearch \($0)" } ?? "in-memory")",
        ].joined(separator: "; ")
    }

    /// Builds the ports, connecting to and checking each configured backend first, so that an
    /// unreachable server or a missing schema stops start-up with a message that says what to
    /// do, instead of failing the first request. Backends not built yet are refused, never
    /// silently replaced by memory.
    public func makeBackends() async throws(BackendUnavailable) -> ChatBackends {
        for endpoint in [redis, elasticsearch].compactMap({ $0 }) {
            throw BackendUnavailable(
                description: "the \(endpoint.kind.rawValue) backend (\(endpoint)) is not available in this build yet; run without --\(endpoint.kind.rawValue) for the in-memory default"
            )
        }
        var backends = ChatBackends.inMemory()
        if let mariadb {
            let pool = try await Self.openMariaDB(mariadb)
            backends.users = MariaDBUserStore(pool: pool)
            backends.rooms = MariaDBRoomStore(pool: pool)
        }
        return backends
    }

    /// A pool on the database, once it answered and its schema is recent enough.
    static func openMariaDB(_ endpoint: BackendEndpoint) async throws(BackendUnavailable) -> MariaDBConnectionPool {
        let configuration: MariaDBConfiguration
        do {
            configuration = try MariaDBConfiguration(endpoint: endpoint)
        } catch {
            throw BackendUnavailable(description: error.description)
        }
        let pool = MariaDBConnectionPool(configuration: configuration)
        do {
            try await MariaDBSchema.check(pool)
            return pool
        } catch {
            let failure = pool.lastFailure
            await pool.shutdown()
            if let mismatch = error as? MariaDBSchema.Mismatch {
                throw BackendUnavailable(description: mismatch.description)
            }
            throw BackendUnavailable(
                description: "cannot use MariaDB \(endpoint) for users and rooms: \(failure.map { "\($0)" } ?? "\(error)")"
            )
        }
    }
}

/// A configured backend that cannot be used.
public struct BackendUnavailable: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
