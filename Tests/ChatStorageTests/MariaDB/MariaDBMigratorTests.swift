import ChatCore
import ChatStorage
import Testing

@Suite struct MariaDBMigratorTests {
    private static let tablesQuery = """
        SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()
        """

    @Test func appliesToAnEmptyDatabaseThenASecondRunIsANoOp() async throws {
        try await MariaDBTestServer.withDatabase(migrated: false) { pool in
            let migrator = try MariaDBTestServer.migrator()
            let first = try await migrator.migrate(pool)
            #expect(first.map(\.version) == [1, 2])
            #expect(first.first?.description == "0001_users_and_rooms")
            #expect(first.last?.description == "0002_credentials")
            let tables = try await pool.query(Self.tablesQuery).compactMap { $0.first?.string }.sorted()
            #expect(tables == ["chatroom_users", "chatrooms", "schema_migrations", "user_passwords", "user_tokens", "users"])

            let second = try await migrator.migrate(pool)
            #expect(second.isEmpty, "a second run applies nothing")
            let recorded = try await pool.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
            #expect(recorded.count == 2)
            #expect(recorded.first?[0] == .int(1) && recorded.first?[1] == .string("users_and_rooms"))
            #expect(recorded.first?[2].date != nil, "applied_at round-trips as a date")
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        try await MariaDBTestServer.withDatabase(migrated: false) { pool in
            let migrator = try MariaDBTestServer.migrator()
            async let first = migrator.migrate(pool)
            async let second = migrator.migrate(pool)
            let applied = try await first.count + second.count
            #expect(applied == 2)
        }
    }

    @Test func theSchemaCheckFailsClearlyOnAMissingSchemaAndPassesAfterMigrating() async throws {
        try await MariaDBTestServer.withDatabase(migrated: false) { pool in
            await #expect {
                try await MariaDBSchema.check(pool)
            } throws: { error in
                "\(error)".contains("no chatd schema") && "\(error)".contains("chatd migrate")
            }
            try await MariaDBTestServer.migrator().migrate(pool)
            try await MariaDBSchema.check(pool)
            #expect(try await MariaDBSchema.currentVersion(pool) == MariaDBSchema.requiredVersion)
        }
    }

    @Test func theSchemaCheckFailsWhenTheSchemaIsBehind() async throws {
        try await MariaDBTestServer.withDatabase(migrated: false) { pool in
            // A migrator with nothing to apply still creates the bookkeeping table: version 0.
            try await MariaDBMigrator(migrations: []).migrate(pool)
            await #expect {
                try await MariaDBSchema.check(pool)
            } throws: { error in
                "\(error)".contains("schema version 0") && "\(error)".contains("needs \(MariaDBSchema.requiredVersion)")
            }
        }
    }

    @Test func theRequiredVersionIsTheNewestMigrationFile() throws {
        let migrations = try MariaDBTestServer.migrator().migrations
        #expect(migrations.last?.version == MariaDBSchema.requiredVersion)
        #expect(migrations.allSatisfy { !$0.statements.isEmpty })
    }

    @Test func statementsSplitAtSemicolonsOutsideQuotesAndComments() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE a (x VARCHAR(3) DEFAULT ';');  # another; comment
            INSERT INTO a VALUES ('it''s; fine'), ("a\\"; b");
            SELECT `odd;name` FROM a - 1;

            """
        let statements = MariaDBMigration(version: 1, name: "t", sql: sql).statements
        #expect(statements.count == 3)
        #expect(statements[0] == "CREATE TABLE a (x VARCHAR(3) DEFAULT ';')")
        #expect(statements[1] == "INSERT INTO a VALUES ('it''s; fine'), (\"a\\\"; b\")")
        #expect(statements[2] == "SELECT `odd;name` FROM a - 1")
    }
}
