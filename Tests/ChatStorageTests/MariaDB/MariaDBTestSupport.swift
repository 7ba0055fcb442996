import ChatStorage
import ChatTestServices
import Foundation
import Testing

/// The MariaDB server the tests talk to: the one `scripts/test.sh` starts, named by
/// `CHAT_TEST_MARIADB_URL`. Each test works in a database of its own, so tests run in parallel.
enum MariaDBTestServer {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "CHAT_TEST_MARIADB_URL is not set: the MariaDB adapter tests need a real server. Run scripts/test.sh, "
                + "which starts one (scripts/services/mariadb.sh) and exports the URL, e.g. mariadb://chat:chat@127.0.0.1:3310/chat_test"
        }
    }

    static func configuration() throws -> MariaDBConfiguration {
        guard let url = ProcessInfo.processInfo.environment["CHAT_TEST_MARIADB_URL"], !url.isEmpty else {
            throw NotConfigured()
        }
        var configuration = try MariaDBConfiguration(url: url)
        configuration.maximumConnections = 4
        return configuration
    }

    /// The package's root, found from this file so tests work from any working directory.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let migrationsDirectory = packageRoot.appendingPathComponent("migrations/mariadb").path

    static func migrator() throws -> MariaDBMigrator {
        try MariaDBMigrator(directory: migrationsDirectory)
    }

    /// Runs `body` against a fresh database (migrated unless asked not to), then drops it.
    static func withDatabase<T: Sendable>(
        migrated: Bool = true,
        maximumConnections: Int = 4,
        _ body: (MariaDBConnectionPool) async throws -> T
    ) async throws -> T {
        let base = try configuration()
        let name = "chat_t_\(UInt64.random(in: 0...UInt64.max))"
        try await withPool(base) { admin in
            // Identifiers cannot be bound; this one is ours, letters and digits only.
            try await admin.execute("CREATE DATABASE `\(name)` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        }
        var configuration = base.with(database: name)
        configuration.maximumConnections = maximumConnections
        let result: Result<T, any Error>
        do {
            result = .success(
                try await withPool(configuration) { pool in
                    if migrated { try await migrator().migrate(pool) }
                    return try await body(pool)
                })
        } catch {
            result = .failure(error)
        }
        try await withPool(base) { admin in
            try await admin.execute("DROP DATABASE IF EXISTS `\(name)`")
        }
        return try result.get()
    }

    /// A pool that is shut down after `body`, whatever happens in it.
    @discardableResult
    static func withPool<T: Sendable>(
        _ configuration: MariaDBConfiguration, _ body: (MariaDBConnectionPool) async throws -> T
    ) async throws -> T {
        let pool = MariaDBConnectionPool(configuration: configuration)
        do {
            let value = try await body(pool)
            await pool.shutdown()
            return value
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}

/// A MariaDB server of a test's own (``OwnServer``), for tests that take the server away
/// (which would break every other test on the shared one), with a pool configuration that
/// notices quickly.
struct PrivateMariaDBServer {
    private let server = OwnServer(.mariadb)

    var port: Int { server.port }

    var configuration: MariaDBConfiguration {
        var configuration = MariaDBConfiguration(host: "127.0.0.1", port: server.port, user: "chat", password: "chat", database: "chat_test")
        configuration.maximumConnections = 3
        configuration.connectTimeout = 2
        configuration.ioTimeout = 5
        configuration.healthCheckAfter = .milliseconds(100)
        return configuration
    }

    func start() async throws { try await server.start() }
    func stop() async throws { try await server.stop() }

    /// Stops the server and removes its data directory.
    func remove() async { await server.remove() }
}
