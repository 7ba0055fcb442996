/// The durable chat-log streams on Redis (one per partition of rooms) and their consumer-group indexers (see
/// ``RedisChatLogIndexer`` and docs/reliability.md).
public struct RedisChatLogSettings: Sendable {
    /// The hard cap of each partition's stream (`XADD … MAXLEN ~`): only reached when the
    /// indexers fall this many messages of one partition behind (Elasticsearch down for long); then the oldest unindexed entries are
    /// dropped. Below it, entries go only once every indexer acknowledged them (XTRIM MINID).
    public var capacity = 1_000_000
    /// Messages per `_bulk` request.
    public var batchSize = 500
    /// Consumers per chatd, each with its own connection and one batch in flight.
    public var batchesInFlight = 4
    /// How long an entry stays pending with a consumer before another claims it (XAUTOCLAIM):
    /// longer than a `_bulk` request can take, shorter than you want a dead server's messages
    /// to wait.
    public var claimAfter: Duration = .seconds(30)
    /// How long a consumer that found all its streams empty waits on one of them for new
    /// entries (XREADGROUP BLOCK): about the longest a message in a quiet partition waits to be
    /// read.
    public var readBlock: Duration = .seconds(1)
    public var initialBackoff: Duration = .milliseconds(100)
    public var maximumBackoff: Duration = .seconds(5)
    /// `?refresh=wait_for` on `_bulk` (see ``ElasticsearchBulkIndexer/Settings/refreshOnWrite``).
    public var refreshOnWrite = true

    public init() {}
}

/// The chat-log streams' figures (summed over the partitions), for operators and the metrics issue.
public struct ChatLogFigures: Sendable, Equatable {
    /// Entries in the streams (acknowledged ones are trimmed away in steps).
    public var length: Int64
    /// Entries delivered to an indexer and not yet acknowledged.
    public var pending: Int64
    /// Age of the oldest pending entry (`nil`: none pending).
    public var oldestPendingAge: Duration?
}
