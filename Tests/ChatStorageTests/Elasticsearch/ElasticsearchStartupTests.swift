import ChatCore
import ChatStorage
import Foundation
import Testing
import ChatTestServices

/// Migrate installs the template; a server refuses to start without it or without Elasticsearch.
@Suite struct ElasticsearchStartupTests {
    typealias Fixture = ElasticsearchFixture

    @Test func migrateInstallsTheTemplateOfTheMigrationsDirectory() async throws {
        let fake = try await FakeElasticsearch.start()
        let client = ElasticsearchClient(endpoint: try Fixture.endpoint(fake))
        await #expect(throws: ElasticsearchError.self) { try await ElasticsearchIndexTemplate.verify(on: client) }
        try await ElasticsearchIndexTemplate.install(on: client)
        try await ElasticsearchIndexTemplate.install(on: client)  // idempotent
        try await ElasticsearchIndexTemplate.verify(on: client)
        let stored = try #require(fake.with { $0.templates[ElasticsearchIndexTemplate.name] })
        let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("migrations/elasticsearch/chat-messages.index-template.json")
        let installed = try JSONSerialization.jsonObject(with: stored) as? NSDictionary
        let migration = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? NSDictionary
        #expect(installed != nil && installed == migration, "the template in the code and in migrations/ agree")
        let template = installed?["template"] as? [String: Any]
        let mappings = template?["mappings"] as? [String: Any]
        let properties = (mappings?["properties"] as? [String: [String: String]]) ?? [:]
        #expect(properties["seq"]?["type"] == "long")
        #expect(properties["message"]?["type"] == "text")
        #expect(properties["user"]?["type"] == "keyword")
        #expect(properties["timestamp"] == ["type": "date", "format": "epoch_millis"])
        await client.shutdown()
        await fake.stop()
    }

    @Test func startupFailsClearlyWithoutTheTemplate() async throws {
        let fake = try await FakeElasticsearch.start()
        let selection = try BackendSelection(redis: nil, mariadb: nil, elasticsearch: fake.url)
        do {
            _ = try await selection.makeBackends(server: .random(), logger: Fixture.logger)
            Issue.record("started without the index template")
        } catch {
            #expect("\(error)".contains("index template is missing"), "\(error)")
            #expect("\(error)".contains("chatd migrate --elasticsearch \(fake.url)"), "\(error)")
        }
        await fake.stop()
    }

    @Test func startupFailsClearlyWhenElasticsearchIsUnreachable() async throws {
        let selection = try BackendSelection(redis: nil, mariadb: nil, elasticsearch: "http://127.0.0.1:1")
        do {
            _ = try await selection.makeBackends(server: .random(), logger: Fixture.logger)
            Issue.record("started without Elasticsearch")
        } catch {
            #expect("\(error)".contains("cannot reach Elasticsearch at http://127.0.0.1:1"), "\(error)")
        }
    }

    @Test func startupUsesTheLogOnElasticsearchOnceMigrated() async throws {
        let fake = try await FakeElasticsearch.start()
        let client = ElasticsearchClient(endpoint: try Fixture.endpoint(fake))
        try await ElasticsearchIndexTemplate.install(on: client)
        await client.shutdown()
        let selection = try BackendSelection(redis: nil, mariadb: nil, elasticsearch: fake.url)
        let backends = try await selection.makeBackends(server: .random(), logger: Fixture.logger)
        let log = try #require(backends.log as? ElasticsearchMessageLog)
        #expect(selection.summary.contains("chat log: Elasticsearch http://127.0.0.1:\(fake.port)"))
        // Through ChatService: the broker's recent history first, the log for what it lacks.
        let service = ChatService(backends: backends, server: .random(), logger: Fixture.logger)
        let room = try await service.createRoom()
        let user = UserName(trusted: "alice")
        for text in ["one", "two", "three"] { _ = try await service.post(text, by: user, in: room) }
        #expect(try await service.search(in: room, matching: "two", limit: 10, offset: 0).map(\.text) == ["two"])
        await log.shutdown()
        #expect(fake.documents(in: room.rawValue).map(\.message) == ["one", "two", "three"])
        await fake.stop()
    }
}
