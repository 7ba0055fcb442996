import ChatCore
import Foundation

/// Applies ``MariaDBMigration``s once each, recording them in `schema_migrations`.
///
/// Safe to run again and from several hosts at once: a named server lock (`GET_LOCK`) lets one
/// migrator work at a time, and a migration whose row exists is skipped. MariaDB commits DDL
/// implicitly, so a migration cannot be rolled back as a whole; instead every statement is
/// written to be idempotent (`IF NOT EXISTS`), and the row is written only after the last one.
public struct MariaDBMigrator: Sendable {
    public let migrations: [MariaDBMigration]
    private static let lockName = "chatd.schema_migrations"
    private static let lockTimeoutSeconds: Int64 = 60

    public init(migrations: [MariaDBMigration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The migrations of `directory` (`migrations/mariadb` in the package).
    public init(directory: String) throws {
        self.init(migrations: try MariaDBMigration.load(from: directory))
    }

    /// Applies every migration not yet recorded; returns those it applied, oldest first.
    @discardableResult
    public func migrate(_ pool: MariaDBConnectionPool) async throws -> [MariaDBMigration] {
        let migrations = self.migrations
        return try await pool.withConnection { connection in
            let locked = try connection.query("SELECT GET_LOCK(?, ?)", [.string(Self.lockName), .int(Self.lockTimeoutSeconds)])
            guard locked.first?.first?.int == 1 else {
                throw MariaDBError(
                    code: 0, message: "another migrator held the lock for \(Self.lockTimeoutSeconds) s", context: "locking the schema"
                )
            }
            defer { _ = try? connection.query("SELECT RELEASE_LOCK(?)", [.string(Self.lockName)]) }
            try connection.execute(MariaDBSchema.createMigrationsTable)
            let applied = Set(try connection.query("SELECT version FROM schema_migrations").compactMap { $0.first?.int })
            var done: [MariaDBMigration] = []
            for migration in migrations where !applied.contains(Int64(migration.version)) {
                for statement in migration.statements {
                    try connection.execute(statement)
                }
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.int(Int64(migration.version)), .string(migration.name), .date(Date())]
                )
                done.append(migration)
            }
            return done
        }
    }
}
