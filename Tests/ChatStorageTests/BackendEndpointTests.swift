import ChatStorage
import Logging
import Testing

@Suite struct BackendEndpointTests {
    @Test func parsesEachBackendsURL() throws {
        let redis = try BackendEndpoint(kind: .redis, url: "redis://127.0.0.1:6390")
        #expect(redis.host == "127.0.0.1" && redis.port == 6390 && redis.user == nil)
        let maria = try BackendEndpoint(kind: .mariadb, url: "mariadb://chat:s%40cret@db.local/chat")
        #expect(maria.host == "db.local" && maria.port == 3306 && maria.user == "chat" && maria.password == "s@cret" && maria.database == "chat")
        #expect(maria.description == "mariadb://chat:***@db.local:3306/chat", "the password never reaches a log")
        let search = try BackendEndpoint(kind: .elasticsearch, url: "http://[::1]:9201")
        #expect(search.host == "::1" && search.port == 9201)
        #expect(search.description == "http://[::1]:9201")
    }

    @Test(arguments: [
        (BackendEndpoint.Kind.redis, "127.0.0.1:6379", "missing scheme"),
        (.redis, "http://127.0.0.1", "scheme must be redis"),
        (.mariadb, "mariadb://:3306/chat", "missing host"),
        (.elasticsearch, "http://es:notaport", "bad port"),
        (.redis, "redis://host:70000", "1 to 65535"),
    ])
    func refusesBadURLsWithAReason(_ kind: BackendEndpoint.Kind, _ url: String, _ reason: String) {
        #expect {
            try BackendEndpoint(kind: kind, url: url)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains("--\(kind.rawValue)")
        }
    }

    @Test func anEmptySelectionIsTheInMemoryDefault() async throws {
        let selection = try BackendSelection(redis: nil, mariadb: "", elasticsearch: nil)
        #expect(selection.redis == nil && selection.mariadb == nil && selection.elasticsearch == nil)
        #expect(selection.summary.contains("in-memory"))
        _ = try selection.makeBackends()
    }

    @Test func aConfiguredBackendThatIsNotBuiltIsRefusedNotIgnored() async throws {
        let selection = try BackendSelection(redis: nil, mariadb: nil, elasticsearch: "http://127.0.0.1:9200")
        await #expect(throws: BackendUnavailable.self) { try await selection.makeBackends(server: .random(), logger: Logger(label: "test")) }
        #expect(throws: BackendUnavailable.self) { try selection.makeBackends() }
    }
}
