import ChatCore
import ChatStorage
import Logging
import ChatTestServices

/// A fake Elasticsearch with the template installed and a log on it, torn down after `body`.
enum ElasticsearchFixture {
    static let logger: Logger = {
        var logger = Logger(label: "elasticsearch-tests")
        logger.logLevel = .critical
        return logger
    }()

    /// Quick retries, so an outage test takes milliseconds, not seconds.
    static var fastSettings: ElasticsearchBulkIndexer.Settings {
        var settings = ElasticsearchBulkIndexer.Settings()
        settings.flushInterval = .milliseconds(5)
        settings.initialBackoff = .milliseconds(5)
        settings.maximumBackoff = .milliseconds(40)
        return settings
    }

    static func endpoint(_ fake: FakeElasticsearch) throws -> BackendEndpoint {
        try BackendEndpoint(kind: .elasticsearch, url: fake.url)
    }

    static func run(
        settings: ElasticsearchBulkIndexer.Settings = fastSettings,
        installTemplate: Bool = true,
        _ body: (FakeElasticsearch, ElasticsearchMessageLog) async throws -> Void
    ) async throws {
        let fake = try await FakeElasticsearch.start()
        let log = ElasticsearchMessageLog(client: ElasticsearchClient(endpoint: try endpoint(fake)), indexer: settings, metrics: ChatLogMetrics.measured(), logger: logger)
        do {
            if installTemplate { try await ElasticsearchIndexTemplate.install(on: log.client) }
            try await body(fake, log)
        } catch {
            await log.shutdown(within: .zero)
            await fake.stop()
            throw error
        }
        await log.shutdown(within: .seconds(1))
        await fake.stop()
    }

    static func message(_ room: RoomID, seq: Int64, _ text: String = "hello", timestamp: Int64 = 1_732_860_000_000) -> ChatMessage {
        ChatMessage(room: room, user: UserName(trusted: "tester"), text: text, timestamp: timestamp + seq, seq: seq)
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return await condition()
    }
}
