import ArgumentParser
import ChatStorage

/// `chatd migrate`: applies the versioned schema migrations to the configured backends.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply schema migrations (migrations/mariadb, migrations/elasticsearch) to the configured backends."
    )

    @OptionGroup var backends: BackendOptions

    func run() async throws {
        let selection = try backends.selection()
        guard selection.mariadb != nil || selection.elasticsearch != nil else {
            throw ValidationError("nothing to migrate: pass --mariadb and/or --elasticsearch (the in-memory default needs no schema)")
        }
        if let elasticsearch = selection.elasticsearch {
            try await ElasticsearchMigration.run(on: elasticsearch)
        }
        if selection.mariadb != nil {
            throw BackendUnavailable(description: "migrations for MariaDB are not available in this build yet")
        }
    }
}
