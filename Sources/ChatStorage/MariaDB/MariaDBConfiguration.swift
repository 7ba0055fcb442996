/// How to reach one MariaDB database, and how long to wait for it.
///
/// The timeouts are what turn "the server went away" into an error instead of a hang: a
/// blocking libmariadb call gives up after them, and the pool answers "backend unavailable".
public struct MariaDBConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String
    /// TLS on every connection (`?ssl=true[&ca=FILE]`), enforced; nil: plain TCP.
    public var tls: BackendTLS?
    /// Seconds to wait for a TCP connection and the handshake.
    public var connectTimeout: UInt32 = 3
    /// Seconds one read or write on an open connection may block.
    public var ioTimeout: UInt32 = 10
    /// Most connections open at once; also the number of threads running blocking calls.
    public var maximumConnections: Int = 8
    /// An idle connection older than this is pinged before reuse, so a server restart is
    /// noticed before a statement fails on a dead socket.
    public var healthCheckAfter: Duration = .seconds(2)

    public init(host: String, port: Int = 3306, user: String, password: String, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// From an operator's `--mariadb mariadb://USER:PASSWORD@HOST:PORT/DATABASE`.
    public init(endpoint: BackendEndpoint) throws(BackendEndpoint.InvalidURL) {
        guard endpoint.kind == .mariadb else {
            throw BackendEndpoint.InvalidURL(description: "\(endpoint) is not a MariaDB URL")
        }
        guard let database = endpoint.database, !database.isEmpty else {
            throw BackendEndpoint.InvalidURL(
                description: "invalid --mariadb URL '\(endpoint)': missing database; expected mariadb://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        }
        self.init(
            host: endpoint.host, port: endpoint.port, user: endpoint.user ?? "root",
            password: endpoint.password ?? "", database: database
        )
        self.tls = endpoint.tls
    }

    /// Parses a URL directly (tests, `CHAT_TEST_MARIADB_URL`).
    public init(url: String) throws(BackendEndpoint.InvalidURL) {
        try self.init(endpoint: BackendEndpoint(kind: .mariadb, url: url))
    }

    /// The same server and credentials, another database (tests use one database each).
    public func with(database: String) -> MariaDBConfiguration {
        var copy = self
        copy.database = database
        return copy
    }

    /// Without the password, fit for logs and error messages.
    public var description: String {
        let tlsQuery = tls.map { tls in
            "?ssl=true" + (tls.certificateAuthorityFile.map { "&ca=\($0)" } ?? "") + (tls.verifiesHostname ? "" : "&verify_hostname=false")
        }
        return "mariadb://\(user)@\(host):\(port)/\(database)\(tlsQuery ?? "")"
    }
}

extension MariaDBConfiguration: CustomDebugStringConvertible {
    /// As ``description``: `String(reflecting:)` must not show the password either.
    public var debugDescription: String { description }
}
