import ChatStorage
import ServiceLifecycle

/// Keeps the Elasticsearch indexer's queue from dying with the process: on graceful shutdown
/// (after the server stopped taking posts) it flushes what is still queued, retrying for a
/// bounded time so a dead Elasticsearch cannot hold the shutdown forever.
struct ChatLogFlushService: Service {
    let log: ElasticsearchMessageLog
    var flushTimeout: Duration = .seconds(10)

    func run() async throws {
        try? await gracefulShutdown()
        await log.shutdown(within: flushTimeout)
    }
}
