import ChatCore

/// A failure reported by libmariadb or the server, with the server's error number so callers
/// can tell a duplicate key from a lost connection.
public struct MariaDBError: Error, Sendable, CustomStringConvertible {
    public let code: UInt32
    public let sqlState: String
    public let message: String
    /// What we were doing, so a log line says more than the server's terse text.
    public let context: String

    public init(code: UInt32, sqlState: String = "HY000", message: String, context: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.context = context
    }

    public var description: String { "MariaDB error \(code) (\(sqlState)) while \(context): \(message)" }

    /// `ER_DUP_ENTRY`: a unique key refused the row.
    public var isDuplicateKey: Bool { code == 1062 }

    /// `ER_NO_SUCH_TABLE`: the schema is missing (no `chatd migrate` yet).
    public var isMissingTable: Bool { code == 1146 }

    /// The connection is unusable: the server is down, restarting, unreachable or dropped us.
    /// Such a connection is discarded and the request answered as "backend unavailable"
    /// (HTTP 503) rather than as a bug, because retrying later can succeed.
    public var isConnectionFailure: Bool {
        Self.connectionFailureCodes.contains(code)
    }

    private static let connectionFailureCodes: Set<UInt32> = [
        1040,  // ER_CON_COUNT_ERROR: too many connections
        1053,  // ER_SERVER_SHUTDOWN
        1927,  // ER_CONNECTION_KILLED
        2001,  // CR_SOCKET_CREATE_ERROR
        2002,  // CR_CONNECTION_ERROR
        2003,  // CR_CONN_HOST_ERROR
        2005,  // CR_UNKNOWN_HOST
        2006,  // CR_SERVER_GONE_ERROR
        2011,  // CR_TCP_CONNECTION
        2013,  // CR_SERVER_LOST
        2026,  // CR_SSL_CONNECTION_ERROR
        2055,  // CR_SERVER_LOST_EXTENDED
        5013,  // CR_ERR_NET_READ (Connector/C 3.x)
        5014,  // CR_ERR_NET_WRITE
    ]

    /// The domain error a transport can show: connection failures become
    /// ``ChatError/backendUnavailable(_:)``; anything else stays a ``MariaDBError`` (a bug or
    /// a schema problem, which a retry will not fix).
    func mapped() -> any Error {
        isConnectionFailure ? ChatError.backendUnavailable("the user and room database (MariaDB) is unreachable") : self
    }
}
