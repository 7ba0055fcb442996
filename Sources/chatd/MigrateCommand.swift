import ArgumentParser
import ChatCore
import ChatStorage
import Foundation

/// `chatd migrate`: applies the versioned schema migrations to the configured backends.
///
/// The MariaDB migrations are read from a directory rather than compiled in, so an operator can
/// see and review exactly what will run (`migrations/mariadb/NNNN_*.sql`). `chatd serve` does
/// not need the files: it only checks the version the database records.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply schema migrations (migrations/mariadb, migrations/elasticsearch) to the configured backends."
    )

    @OptionGroup var backends: BackendOptions

    @Option(
        name: .customLong("migrations"),
        help: """
            Directory of the MariaDB migrations (env CHATD_MARIADB_MIGRATIONS; default: migrations/mariadb \
            in the working directory, else in the package the chatd binary was built in).
            """
    )
    var mariadbMigrations: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let selection = try backends.selection(environment: environment)
        guard selection.mariadb != nil || selection.elasticsearch != nil else {
            throw ValidationError("nothing to migrate: pass --mariadb and/or --elasticsearch (the in-memory default needs no schema)")
        }
        if let endpoint = selection.mariadb {
            let directory = try Self.migrationsDirectory(option: mariadbMigrations ?? environment["CHATD_MARIADB_MIGRATIONS"])
            try await migrateMariaDB(endpoint, directory: directory)
        }
        if let elasticsearch = selection.elasticsearch {
            try await ElasticsearchMigration.run(on: elasticsearch)
        }
    }

    private func migrateMariaDB(_ endpoint: BackendEndpoint, directory: String) async throws {
        let migrator = try MariaDBMigrator(directory: directory)
        var configuration = try MariaDBConfiguration(endpoint: endpoint)
        configuration.maximumConnections = 1
        let pool = MariaDBConnectionPool(configuration: configuration)
        let applied: [MariaDBMigration]
        do {
            applied = try await migrator.migrate(pool)
        } catch {
            // Clients only ever see "unavailable"; the operator needs the server's own words.
            let failure = pool.lastFailure
            await pool.shutdown()
            if case ChatError.backendUnavailable = error, let failure {
                throw BackendUnavailable(description: "cannot reach MariaDB \(endpoint): \(failure)")
            }
            throw BackendUnavailable(description: "migrating MariaDB \(endpoint) failed: \(error)")
        }
        let version = try? await MariaDBSchema.currentVersion(pool)
        await pool.shutdown()
        print("MariaDB \(endpoint): migrations from \(directory)")
        for migration in applied {
            print("  applied \(migration)")
        }
        let at = version.flatMap { $0 }.map { "schema version \($0)" } ?? "schema"
        print(applied.isEmpty ? "  nothing to apply: already at \(at)" : "  now at \(at)")
    }

    /// The option if given; otherwise `migrations/mariadb` in the working directory, then in
    /// each ancestor of the executable (a `.build/…/chatd` finds its package's directory).
    static func migrationsDirectory(option: String?) throws -> String {
        let fileManager = FileManager.default
        func isDirectory(_ path: String) -> Bool {
            var directory: ObjCBool = false
            return fileManager.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
        }
        if let option {
            guard isDirectory(option) else { throw ValidationError("--migrations '\(option)' is not a directory") }
            return option
        }
        var candidates = [URL(fileURLWithPath: fileManager.currentDirectoryPath)]
        var executable = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath().deletingLastPathComponent()
        while executable.path != "/", !executable.path.isEmpty {
            candidates.append(executable)
            executable.deleteLastPathComponent()
        }
        let tried = candidates.map { $0.appendingPathComponent("migrations/mariadb").path }
        if let found = tried.first(where: isDirectory) { return found }
        throw ValidationError("no migrations/mariadb directory found (looked in \(tried.joined(separator: ", "))); pass --migrations DIR")
    }
}
