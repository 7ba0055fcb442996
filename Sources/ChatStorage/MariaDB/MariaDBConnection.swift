import CMariaDB

/// One client session with the server: a `MYSQL*` and its prepared statements.
///
/// Every call blocks the calling thread, so only ``MariaDBConnectionPool`` hands a connection
/// out, to one blocking task at a time on its own threads; that exclusive lease is why the
/// unchecked `Sendable` is sound. All SQL runs as prepared statements (`mysql_stmt_*`) with
/// typed binds; statements are cached per connection because a room lookup is re-run constantly.
public final class MariaDBConnection: @unchecked Sendable {
    private static let libraryReady: Bool = mysql_server_init(0, nil, nil) == 0
    private static let statementCacheLimit = 64

    private let handle: UnsafeMutablePointer<MYSQL>
    private var statements: [String: UnsafeMutablePointer<MYSQL_STMT>] = [:]
    private var closed = false
    /// Set once a call failed in a way that leaves the session unusable; the pool drops it.
    public private(set) var isBroken = false

    private init(handle: UnsafeMutablePointer<MYSQL>) {
        self.handle = handle
    }

    deinit { close() }

    /// Opens a session over TCP. Blocks up to the connect timeout.
    public static func connect(_ configuration: MariaDBConfiguration) throws(MariaDBError) -> MariaDBConnection {
        guard libraryReady, let handle = mysql_init(nil) else {
            throw MariaDBError(code: 2008, message: "could not initialise the client library", context: "connecting")
        }
        var connectTimeout = configuration.connectTimeout
        var ioTimeout = configuration.ioTimeout
        var protocolTCP = MYSQL_PROTOCOL_TCP.rawValue
        // A silent reconnect would drop prepared statements and session state under us;
        // the pool replaces broken connections itself.
        var reconnect: my_bool = 0
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &ioTimeout)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &ioTimeout)
        mysql_options(handle, MYSQL_OPT_PROTOCOL, &protocolTCP)
        mysql_options(handle, MYSQL_OPT_RECONNECT, &reconnect)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        if let tls = configuration.tls {
            // Enforced: a server without TLS fails the connect instead of being spoken to in clear.
            var enforce: my_bool = 1
            var verify: my_bool = tls.verifiesHostname ? 1 : 0
            mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &enforce)
            mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify)
            if let file = tls.certificateAuthorityFile {
                mysql_options(handle, MYSQL_OPT_SSL_CA, file)
            }
        }
        let connected = mysql_real_connect(
            handle, configuration.host, configuration.user, configuration.password,
            configuration.database, UInt32(configuration.port), nil, 0
        )
        guard connected != nil else {
            let error = Self.error(of: handle, context: "connecting to \(configuration)")
            mysql_close(handle)
            throw error
        }
        return MariaDBConnection(handle: handle)
    }

    /// Runs a statement that returns no rows (INSERT, UPDATE, DELETE, DDL).
    @discardableResult
    public func execute(_ sql: String, _ values: [MariaDBValue] = []) throws(MariaDBError) -> MariaDBExecution {
        try perform(sql, values).execution
    }

    /// Runs a statement and returns every row it produced.
    public func query(_ sql: String, _ values: [MariaDBValue] = []) throws(MariaDBError) -> [MariaDBRow] {
        try perform(sql, values).rows
    }

    /// Whether the server still answers on this session; a failure marks it broken.
    public func ping() -> Bool {
        guard !closed, !isBroken else { return false }
        if mysql_ping(handle) != 0 { isBroken = true }
        return !isBroken
    }

    /// Closes the session and its statements; safe to call twice.
    public func close() {
        guard !closed else { return }
        closed = true
        for statement in statements.values { mysql_stmt_close(statement) }
        statements.removeAll()
        mysql_close(handle)
    }

    private func perform(_ sql: String, _ values: [MariaDBValue]) throws(MariaDBError) -> (rows: [MariaDBRow], execution: MariaDBExecution) {
        guard !closed else { throw MariaDBError(code: 2006, message: "connection closed", context: "running \(sql)") }
        let statement = try prepared(sql)
        do {
            return try run(statement, sql: sql, values: values)
        } catch {
            // A failed statement may be left mid-protocol; prepare it afresh next time.
            statements[sql] = nil
            mysql_stmt_close(statement)
            if error.isConnectionFailure { isBroken = true }
            throw error
        }
    }

    private func prepared(_ sql: String) throws(MariaDBError) -> UnsafeMutablePointer<MYSQL_STMT> {
        if let cached = statements[sql] { return cached }
        guard let statement = mysql_stmt_init(handle) else {
            throw fail(Self.error(of: handle, context: "preparing \(sql)"))
        }
        guard mysql_stmt_prepare(statement, sql, UInt(sql.utf8.count)) == 0 else {
            let error = Self.error(of: statement, context: "preparing \(sql)")
            mysql_stmt_close(statement)
            throw fail(error)
        }
        var updateMaxLength: my_bool = 1
        mysql_stmt_attr_set(statement, STMT_ATTR_UPDATE_MAX_LENGTH, &updateMaxLength)
        if statements.count >= Self.statementCacheLimit {
            for cached in statements.values { mysql_stmt_close(cached) }
            statements.removeAll()
        }
        statements[sql] = statement
        return statement
    }

    private func run(
        _ statement: UnsafeMutablePointer<MYSQL_STMT>, sql: String, values: [MariaDBValue]
    ) throws(MariaDBError) -> (rows: [MariaDBRow], execution: MariaDBExecution) {
        let expected = Int(mysql_stmt_param_count(statement))
        guard expected == values.count else {
            throw MariaDBError(
                code: 2034, message: "expected \(expected) parameters, got \(values.count)", context: "binding \(sql)"
            )
        }
        let parameters = ParameterBindings(values)
        if expected > 0, mysql_stmt_bind_param(statement, parameters.binds) != 0 {
            throw Self.error(of: statement, context: "binding \(sql)")
        }
        let executed = mysql_stmt_execute(statement)
        withExtendedLifetime(parameters) {}
        guard executed == 0 else { throw Self.error(of: statement, context: "running \(sql)") }
        let execution = MariaDBExecution(
            affectedRows: mysql_stmt_affected_rows(statement), insertID: mysql_stmt_insert_id(statement)
        )
        guard mysql_stmt_field_count(statement) > 0 else { return ([], execution) }
        return (try fetchRows(statement, sql: sql), execution)
    }

    private func fetchRows(_ statement: UnsafeMutablePointer<MYSQL_STMT>, sql: String) throws(MariaDBError) -> [MariaDBRow] {
        // Storing first fills in each column's max_length, which sizes the fetch buffers.
        guard mysql_stmt_store_result(statement) == 0 else {
            throw Self.error(of: statement, context: "reading the result of \(sql)")
        }
        defer { mysql_stmt_free_result(statement) }
        guard let metadata = mysql_stmt_result_metadata(statement) else {
            throw Self.error(of: statement, context: "reading the columns of \(sql)")
        }
        defer { mysql_free_result(metadata) }
        let count = Int(mysql_num_fields(metadata))
        guard let fields = mysql_fetch_fields(metadata) else { return [] }
        let results = ResultBindings(fields: fields, count: count)
        guard mysql_stmt_bind_result(statement, results.binds) == 0 else {
            throw Self.error(of: statement, context: "binding the result of \(sql)")
        }
        var rows: [MariaDBRow] = []
        while true {
            let status = mysql_stmt_fetch(statement)
            switch status {
            case 0: rows.append(results.currentRow())
            case MYSQL_NO_DATA: return rows
            case MYSQL_DATA_TRUNCATED:
                throw MariaDBError(code: 2032, message: "a column was truncated", context: "fetching \(sql)")
            default: throw Self.error(of: statement, context: "fetching \(sql)")
            }
        }
    }

    private func fail(_ error: MariaDBError) -> MariaDBError {
        if error.isConnectionFailure { isBroken = true }
        return error
    }

    private static func error(of handle: UnsafeMutablePointer<MYSQL>, context: String) -> MariaDBError {
        MariaDBError(
            code: mysql_errno(handle), sqlState: String(cString: mysql_sqlstate(handle)),
            message: String(cString: mysql_error(handle)), context: context
        )
    }

    private static func error(of statement: UnsafeMutablePointer<MYSQL_STMT>, context: String) -> MariaDBError {
        MariaDBError(
            code: mysql_stmt_errno(statement), sqlState: String(cString: mysql_stmt_sqlstate(statement)),
            message: String(cString: mysql_stmt_error(statement)), context: context
        )
    }
}
