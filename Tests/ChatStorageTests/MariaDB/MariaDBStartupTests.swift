import Logging
import ChatCore
import ChatStorage
import Testing

/// `--mariadb` at start-up: users and rooms come from MariaDB, and a server that is down or
/// not migrated stops start-up with a message that says what to do.
@Suite struct MariaDBStartupTests {
    private func url(_ configuration: MariaDBConfiguration) -> String {
        "mariadb://\(configuration.user):\(configuration.password)@\(configuration.host):\(configuration.port)/\(configuration.database)"
    }

    @Test func aMigratedDatabaseServesUsersAndRooms() async throws {
        try await MariaDBTestServer.withDatabase { pool in
            let selection = try BackendSelection(redis: nil, mariadb: url(pool.configuration), elasticsearch: nil)
            let backends = try await selection.makeBackends(server: .random(), logger: Logger(label: "test"))
            let name = UserName(trusted: "startup-\(UInt32.random(in: 0...UInt32.max))")
            try await backends.users.create(name)
            let room = try await backends.rooms.create()
            // Written through the selection's own pool, read back through the test's.
            #expect(try await MariaDBUserStore(pool: pool).contains(name))
            #expect(try await MariaDBRoomStore(pool: pool).contains(room))
        }
    }

    @Test func aDatabaseWithoutTheSchemaStopsStartUp() async throws {
        try await MariaDBTestServer.withDatabase(migrated: false) { pool in
            let selection = try BackendSelection(redis: nil, mariadb: url(pool.configuration), elasticsearch: nil)
            await #expect {
                _ = try await selection.makeBackends(server: .random(), logger: Logger(label: "test"))
            } throws: { error in
                error is BackendUnavailable && "\(error)".contains("chatd migrate --mariadb")
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anUnreachableServerStopsStartUp() async throws {
        let selection = try BackendSelection(redis: nil, mariadb: "mariadb://chat:chat@127.0.0.1:1/chat", elasticsearch: nil)
        await #expect {
            _ = try await selection.makeBackends(server: .random(), logger: Logger(label: "test"))
        } throws: { error in
            "\(error)".contains("cannot use MariaDB mariadb://chat:***@127.0.0.1:1/chat") && !"\(error)".contains(":chat@")
        }
    }
}
