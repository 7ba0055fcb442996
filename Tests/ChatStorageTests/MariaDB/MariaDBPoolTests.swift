import ChatCore
import ChatStorage
import Foundation
import Testing

@Suite struct MariaDBPoolTests {
    @Test func concurrentUseIsBoundedByThePoolSize() async throws {
        try await MariaDBTestServer.withDatabase(maximumConnections: 3) { pool in
            let sessions = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            _ = try connection.query("SELECT SLEEP(0.05)")
                            return try connection.query("SELECT CONNECTION_ID()").first?.first?.int ?? -1
                        }
                    }
                }
                return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
            }
            let statistics = pool.statistics
            #expect(statistics.peakLeased == 3, "12 callers, 3 at a time")
            #expect(sessions.count <= 3, "sessions are reused: \(sessions)")
            #expect(statistics.open <= 3 && statistics.leased == 0 && statistics.waiting == 0)
        }
    }

    @Test func namesWithQuotesAndUnicodeRoundTripThroughPreparedStatements() async throws {
        let names = [
            "O'Brien", "\"; DROP TABLE users; --", "Robert'); DROP TABLE users;--", "back\\slash\\",
            "%_wild%", "Zoë", "李小龍🙂", "tab\there", "😀😃😄", "'' OR 1=1 --",
        ]
        try await MariaDBTestServer.withDatabase { pool in
            let store = MariaDBUserStore(pool: pool)
            for name in names {
                try await store.create(UserName(trusted: name))
            }
            for name in names {
                #expect(try await store.contains(UserName(trusted: name)), "\(name) is found")
                let rows = try await pool.query("SELECT name FROM users WHERE name = ?", [.string(name)])
                #expect(rows == [[.string(name)]], "\(name) reads back byte for byte")
            }
            #expect(try await store.contains(UserName(trusted: "%")) == false, "no pattern matching")
            let count = try await pool.query("SELECT COUNT(*) FROM users")
            #expect(count.first?.first == .int(Int64(names.count)), "the table survived every name")
        }
    }

    @Test func integersDatesAndNullsRoundTrip() async throws {
        try await MariaDBTestServer.withDatabase { pool in
            try await pool.execute("CREATE TABLE sample (i BIGINT, s VARCHAR(64), d DATETIME(6), n VARCHAR(1) NULL)")
            let date = Date(timeIntervalSince1970: 1_732_860_000.123456)
            try await pool.execute(
                "INSERT INTO sample VALUES (?, ?, ?, ?)", [.int(Int64.min + 1), .string(""), .date(date), .null]
            )
            let row = try #require(try await pool.query("SELECT i, s, d, n FROM sample").first)
            #expect(row[0] == .int(Int64.min + 1))
            #expect(row[1] == .string(""))
            #expect(abs((row[2].date ?? .distantPast).timeIntervalSince(date)) < 0.000_01)
            #expect(row[3] == .null)
        }
    }

    @Test func aBadParameterCountIsAnErrorNotACrash() async throws {
        try await MariaDBTestServer.withDatabase { pool in
            await #expect(throws: MariaDBError.self) { try await pool.query("SELECT ?", []) }
            // The session survives a statement error and is reused.
            let rows = try await pool.query("SELECT 1")
            #expect(rows == [[.int(1)]])
            #expect(pool.statistics.open == 1)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anUnreachableServerIsBackendUnavailable() async throws {
        var configuration = MariaDBConfiguration(host: "127.0.0.1", port: 1, user: "chat", password: "chat", database: "chat")
        configuration.connectTimeout = 1
        try await MariaDBTestServer.withPool(configuration) { pool in
            await #expect(throws: ChatError.self) { try await MariaDBRoomStore(pool: pool).all() }
            do {
                _ = try await pool.query("SELECT 1")
            } catch let error as ChatError {
                guard case .backendUnavailable = error else { throw error }
            }
            #expect(pool.statistics.open == 0 && pool.statistics.leased == 0, "a failed connect frees its slot")
        }
    }

    /// Takes its own server down and brings it back, so it cannot disturb the shared one.
    @Test(.timeLimit(.minutes(2)))
    func aServerThatGoesAwayGivesBackendUnavailableAndThePoolRecovers() async throws {
        let server = PrivateMariaDBServer()
        try await server.start()
        do {
            try await MariaDBTestServer.withPool(server.configuration) { pool in
                try await MariaDBTestServer.migrator().migrate(pool)
                let rooms = MariaDBRoomStore(pool: pool)
                let users = MariaDBUserStore(pool: pool)
                let room = try await rooms.create()
                try await server.stop()

                // Idle sessions are dead now; every call fails fast and cleanly.
                try await Task.sleep(for: .milliseconds(200))
                for _ in 0..<3 {
                    await #expect(throws: ChatError.backendUnavailable("the user and room database (MariaDB) is unreachable")) {
                        try await rooms.contains(room)
                    }
                }
                await #expect(throws: ChatError.self) { try await users.create(UserName(trusted: "ann")) }
                #expect(pool.statistics.leased == 0 && pool.statistics.waiting == 0, "no lease leaked")

                try await server.start()
                #expect(try await rooms.contains(room), "the room outlived the restart")
                try await users.create(UserName(trusted: "ann"))
                #expect(try await users.contains(UserName(trusted: "ann")))
                let next = try await rooms.create()
                #expect(next > room, "ids keep ascending across a restart")
            }
        } catch {
            await server.remove()
            throw error
        }
        await server.remove()
    }
}

@Suite struct MariaDBPoolWaitingTests {
    @Test(.timeLimit(.minutes(1)))
    func aCancelledWaiterLeavesTheQueueAndTheSessionIsHandedOn() async throws {
        try await MariaDBTestServer.withDatabase(maximumConnections: 1) { pool in
            // Held long enough that the patient waiter is still waiting when the other is
            // cancelled, even on a machine busy with other tests.
            let holder = Task { try await pool.query("SELECT SLEEP(3)") }
            while pool.statistics.leased == 0 { try await Task.sleep(for: .milliseconds(5)) }
            let cancelled = Task { try await pool.query("SELECT 1") }
            let patient = Task { try await pool.query("SELECT 2") }
            while pool.statistics.waiting < 2 { try await Task.sleep(for: .milliseconds(5)) }
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            #expect(pool.statistics.waiting == 1)
            _ = try await holder.value
            #expect(try await patient.value == [[.int(2)]])
            #expect(pool.statistics.open == 1 && pool.statistics.leased == 0 && pool.statistics.waiting == 0)
        }
    }

    @Test func aPoolThatIsShutDownRefusesWork() async throws {
        let pool = MariaDBConnectionPool(configuration: try MariaDBTestServer.configuration())
        await pool.shutdown()
        await #expect(throws: ChatError.self) { try await pool.query("SELECT 1") }
    }
}
