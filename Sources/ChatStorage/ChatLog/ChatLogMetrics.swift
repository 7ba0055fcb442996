import Metrics

/// The chat-log indexers' counts, as metrics (docs/operations.md, "Metrics"): what reached
/// Elasticsearch, what was refused, what is retried. `path` tells the two indexers apart:
/// `stream` (``RedisChatLogIndexer``, the durable path) and `queue`
/// (``ElasticsearchBulkIndexer``, the in-process one).
public final class ChatLogMetrics: Sendable {
    /// The factory the metrics are made by (a test reads them back through it).
    public let factory: any MetricsFactory
    private let created: Counter
    private let alreadyStored: Counter
    private let rejected: Counter
    private let failedBatches: Counter
    private let claimed: Counter
    private let dropped: Counter

    public init(path: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: [("path", path)] + dimensions, factory: factory)
        }
        created = counter("chatd_chat_log_indexed_total", [("outcome", "created")])
        alreadyStored = counter("chatd_chat_log_indexed_total", [("outcome", "already_stored")])
        rejected = counter("chatd_chat_log_indexed_total", [("outcome", "rejected")])
        failedBatches = counter("chatd_chat_log_failed_batches_total")
        claimed = counter("chatd_chat_log_claimed_total")
        dropped = counter("chatd_chat_log_dropped_total")
    }

    /// Messages Elasticsearch confirmed as newly created, found stored already (409: a retried
    /// batch), and rejected for good (or entries that were not chat messages).
    func countIndexed(created: Int = 0, alreadyStored: Int = 0, rejected: Int = 0) {
        if created > 0 { self.created.increment(by: created) }
        if alreadyStored > 0 { self.alreadyStored.increment(by: alreadyStored) }
        if rejected > 0 { self.rejected.increment(by: rejected) }
    }

    /// A batch (or `_bulk` request) that failed and stays to be retried.
    func countFailedBatch() { failedBatches.increment() }

    /// Entries claimed from consumers that stopped acknowledging.
    func countClaimed(_ entries: Int) { if entries > 0 { claimed.increment(by: entries) } }

    /// Messages refused because the in-process buffer was full.
    func countDropped(_ messages: Int) { if messages > 0 { dropped.increment(by: messages) } }
}
