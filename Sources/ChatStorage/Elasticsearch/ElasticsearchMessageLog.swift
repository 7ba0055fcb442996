import ChatCore
import Foundation
import Logging
import Metrics
import NIOCore
import Synchronization

/// The chat log on Elasticsearch: appends go to the background ``ElasticsearchBulkIndexer``,
/// reads are `_search` requests on `chat-messages-*`.
///
/// Read-after-write: a read first waits until the queued messages it could return are
/// confirmed by Elasticsearch (the indexer writes with `refresh=wait_for`, so confirmed means
/// searchable). On the join path this costs nothing: ChatService asks the log only for messages
/// older than the broker's recent history, which were indexed long ago. While Elasticsearch is
/// failing, reads do not wait (they fail, or miss what is still queued).
///
/// History stampede (the seed's "sudden traffic spikes"): identical history queries of a room
/// share one `_search` while it is in flight, unless a batch of that room was confirmed after it
/// was sent (then the later caller could miss a message it is entitled to, so it sends its own).
public final class ElasticsearchMessageLog: MessageLog {
    private struct HistoryKey: Hashable {
        var room: RoomID
        var before: Int64?
        var limit: Int
    }

    private struct InFlight {
        var id: UInt64
        var generation: UInt64
        var task: Task<[ChatMessage], any Error>
    }

    public let client: ElasticsearchClient
    public let indexer: ElasticsearchBulkIndexer
    private let logger: Logger
    private let inFlight = Mutex<(nextID: UInt64, queries: [HistoryKey: InFlight])>((1, [:]))
    private let feeder = Mutex<RedisChatLogIndexer?>(nil)
    /// The factory of the log's metrics (a test reads them back through it).
    public let metrics: any MetricsFactory
    /// `chatd_elasticsearch_searches_total{query}`: `_search` requests sent, by query.
    private let searches: [Query: Counter]
    /// `chatd_history_reads_shared_total`: history reads answered by joining a query already in
    /// flight, the stampede absorbed.
    private let sharedReads: Counter

    /// `metrics` makes the log's counts and the indexer's (``ChatLogMetrics``).
    public init(
        client: ElasticsearchClient, indexer settings: ElasticsearchBulkIndexer.Settings = .init(),
        metrics: any MetricsFactory = MetricsSystem.factory, logger: Logger
    ) {
        self.client = client
        self.indexer = ElasticsearchBulkIndexer(client: client, settings: settings, metrics: metrics, logger: logger)
        self.logger = logger
        self.metrics = metrics
        var searches: [Query: Counter] = [:]
        for query in Query.allCases {
            searches[query] = Counter(label: "chatd_elasticsearch_searches_total", dimensions: [("query", query.rawValue)], factory: metrics)
        }
        self.searches = searches
        self.sharedReads = Counter(label: "chatd_history_reads_shared_total", dimensions: [], factory: metrics)
    }

    /// The `query` of `chatd_elasticsearch_searches_total`: a history page, a resume's range, a
    /// text search.
    private enum Query: String, CaseIterable {
        case history, resume, search
    }

    /// Connects to `endpoint` and checks that the index template is installed, so chatd refuses
    /// to start on an unreachable Elasticsearch or one that was never migrated.
    public static func connect(
        to endpoint: BackendEndpoint,
        indexer settings: ElasticsearchBulkIndexer.Settings = .init(),
        logger: Logger
    ) async throws -> ElasticsearchMessageLog {
        let client = ElasticsearchClient(endpoint: endpoint)
        do {
            try await ElasticsearchIndexTemplate.verify(on: client)
        } catch {
            await client.shutdown()
            throw error
        }
        return ElasticsearchMessageLog(client: client, indexer: settings, logger: logger)
    }

    public func append(_ messages: [ChatMessage]) async throws {
        try await indexer.enqueue(messages)
    }

    public func history(of room: RoomID, before seq: Int64?, limit: Int) async throws -> [ChatMessage] {
        guard limit > 0 else { return [] }
        let generation = await indexer.readyToRead(room: room, below: seq)
        let key = HistoryKey(room: room, before: seq, limit: limit)
        let query = HistoryQuery(room: room, before: seq, limit: limit)
        let task = inFlight.withLock { state -> Task<[ChatMessage], any Error> in
            if let running = state.queries[key], running.generation == generation {
                sharedReads.increment()
                return running.task
            }
            let id = state.nextID
            state.nextID += 1
            let task = Task { [self] in
                defer { finished(key, id: id) }
                return Array(try await self.search(query.body, name: .history).reversed())
            }
            state.queries[key] = InFlight(id: id, generation: generation, task: task)
            return task
        }
        return try await task.value
    }

    public func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange {
        _ = await indexer.readyToRead(room: room, below: nil)
        // From `position.seq` on, so the hits show whether the log holds the position (or the
        // message right after it); a little slack for equal seqs of other epochs.
        let body = SearchBody(
            query: .init(bool: .init(must: nil, filter: [.term(field: "chatroom", value: room.rawValue), .atLeast(field: "seq", value: position.seq)])),
            sort: [["seq": ["order": "asc"]]],
            from: nil,
            size: max(0, limit) + 4
        )
        let hits = try await search(body, name: .resume)
        let next = MessagePosition(epoch: position.epoch, seq: position.seq + 1)
        guard hits.prefix(while: { $0.seq <= next.seq }).contains(where: { $0.position == position || $0.position == next }) else {
            return .unavailable
        }
        return .messages(Array(hits.lazy.filter { $0.seq > position.seq }.prefix(max(0, limit))))
    }

    public func search(in room: RoomID, matching query: String, limit: Int, offset: Int) async throws -> [ChatMessage] {
        // Elasticsearch's match on no words finds nothing too; this saves the round trip.
        guard limit > 0, query.contains(where: { $0.isLetter || $0.isNumber }) else { return [] }
        _ = await indexer.readyToRead(room: room, below: nil)
        return try await search(TextQuery(room: room, text: query, limit: limit, offset: max(0, offset)).body, name: .search)
    }

    /// The consumer-group indexer that feeds this log from the durable Redis stream, when the
    /// broker feeds the log (Redis and Elasticsearch configured); it stops with the log.
    public var feed: RedisChatLogIndexer? {
        get { feeder.withLock { $0 } }
        set { feeder.withLock { $0 = newValue } }
    }

    /// Stops the feed (its consumers finish their batches), flushes the in-process indexer (for
    /// up to `timeout`) and closes the connections.
    public func shutdown(within timeout: Duration = .seconds(10)) async {
        await feed?.stop(within: timeout)
        await indexer.shutdown(within: timeout)
        await client.shutdown()
    }

    private func finished(_ key: HistoryKey, id: UInt64) {
        inFlight.withLock { state in
            if state.queries[key]?.id == id { state.queries[key] = nil }
        }
    }

    private func search(_ body: some Encodable, name: Query) async throws -> [ChatMessage] {
        searches[name]!.increment()
        let path = "/\(ElasticsearchIndexTemplate.indexPattern)/_search"
        let answer = try await client.json(.POST, path, body: body, as: SearchResponse.self)
        return answer.hits.hits.map(\._source)
    }
}

/// The history query: the room's messages below a seq, newest first (reversed by the caller).
private struct HistoryQuery {
    var room: RoomID
    var before: Int64?
    var limit: Int

    var body: SearchBody {
        var filter: [Clause] = [.term(field: "chatroom", value: room.rawValue)]
        if let before { filter.append(.range(field: "seq", lessThan: before)) }
        return SearchBody(query: .init(bool: .init(must: nil, filter: filter)), sort: [["seq": ["order": "desc"]]], from: nil, size: limit)
    }
}

/// Full-text search: every word of `text` (match with operator "and", analysed like the
/// message), in one room, newest first, paged with from/size.
private struct TextQuery {
    var room: RoomID
    var text: String
    var limit: Int
    var offset: Int

    var body: SearchBody {
        SearchBody(
            query: .init(bool: .init(must: [.match(field: "message", query: text)], filter: [.term(field: "chatroom", value: room.rawValue)])),
            sort: [["seq": ["order": "desc"]]],
            from: offset,
            size: limit
        )
    }
}
