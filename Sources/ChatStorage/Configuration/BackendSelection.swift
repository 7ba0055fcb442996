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

    /// Builds the ports. Real adapters are not part of this build yet: asking for one is an
    /// error that says so, rather than a silent fallback to memory.
    public func makeBackends() throws(BackendUnavailable) -> ChatBackends {
        for endpoint in [redis, mariadb, elasticsearch].compactMap({ $0 }) {
            throw BackendUnavailable(
                description: "the \(endpoint.kind.rawValue) backend (\(endpoint)) is not available in this build yet; run without --\(endpoint.kind.rawValue) for the in-memory default"
            )
        }
        return .inMemory()
    }
}

/// A configured backend that cannot be used.
public struct BackendUnavailable: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
