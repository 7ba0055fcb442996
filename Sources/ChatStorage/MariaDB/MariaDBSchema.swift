import ChatCore

/// The schema version this build's MariaDB stores were written against, and the start-up
/// check that the database has it.
///
/// The required version lives in code rather than being read from `migrations/mariadb/` so
/// that `chatd serve` needs no migration files at run time; a test keeps the two in step.
public enum MariaDBSchema {
    /// The newest migration the stores rely on (`0002_credentials.sql`).
    public static let requiredVersion = 2

    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INT UNSIGNED NOT NULL,
            name VARCHAR(255) NOT NULL,
            applied_at DATETIME(6) NOT NULL,
            PRIMARY KEY (version)
        ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
        """

    /// The database is reachable but not migrated far enough.
    public struct Mismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// The newest migration recorded in the database, or nil when it has no schema at all.
    public static func currentVersion(_ pool: MariaDBConnectionPool) async throws -> Int? {
        do {
            let rows = try await pool.query("SELECT MAX(version) FROM schema_migrations")
            return rows.first?.first?.int.map(Int.init) ?? 0
        } catch let error as MariaDBError where error.isMissingTable {
            return nil
        }
    }

    /// Throws a ``Mismatch`` that tells the operator what to run when the schema is missing
    /// or behind; connection failures surface as ``ChatError/backendUnavailable(_:)``.
    public static func check(_ pool: MariaDBConnectionPool) async throws {
        let database = pool.configuration
        switch try await currentVersion(pool) {
        case nil:
            throw Mismatch(
                description: "the MariaDB database \(database) has no chatd schema (no schema_migrations table); run `chatd migrate --mariadb URL` first"
            )
        case let version? where version < requiredVersion:
            throw Mismatch(
                description: "the MariaDB database \(database) is at schema version \(version) but this chatd needs \(requiredVersion); run `chatd migrate --mariadb URL`"
            )
        default:
            break
        }
    }
}
