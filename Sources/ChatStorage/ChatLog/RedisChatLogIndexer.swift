import ChatCore
import Logging
import Metrics
import NIOCore
import Synchronization

/// Feeds the chat log on Elasticsearch from the durable Redis streams `chat:log:{chat:pN}` (one
/// per partition of rooms, ``RedisKeys/partitions``, so that each is in its rooms' slot on a
/// cluster), as one of the consumer group's members on every stream; every chatd runs one.
///
/// Consumer `n` of a chatd reads the partitions `p` with `p % batchesInFlight == n`, one stream
/// per command (streams of several slots cannot share a command on a cluster): a round reads
/// each without blocking and indexes what it found; after a round that found nothing it blocks
/// on one of them (in turn) for up to ``RedisChatLogSettings/readBlock``, which is how long a
/// message in a quiet partition may wait. Consumer 0 also drains the single stream `chat:log`
/// of the layout before partitions, if there is one (docs/operations.md, upgrade note).
///
/// Guarantees, and how:
/// - Nothing accepted is lost: the publish script appended the message to the stream in the
///   same atomic step that numbered it. An entry is acknowledged (XACK) only once Elasticsearch
///   confirmed it (created, or 409: already stored); until then it stays pending.
/// - A dead consumer's entries are not stranded: entries pending longer than
///   ``RedisChatLogSettings/claimAfter`` are claimed (XAUTOCLAIM, per stream) by a live
///   indexer.
/// - Nothing is duplicated: documents have the deterministic id `{room}-{epoch}-{seq}`, so an
///   entry indexed twice (claimed after its first consumer wrote it but died before XACK) is a
///   409 the second time.
/// - Throughput: ``RedisChatLogSettings/batchesInFlight`` consumers per chatd, each on its own
///   connection with one `_bulk` batch in flight.
/// - The streams stay bounded: acknowledged entries are trimmed (XTRIM MINID, never past the
///   oldest pending or undelivered entry); the script's MAXLEN ~ cap (per stream) is the last
///   resort.
public final class RedisChatLogIndexer: Sendable {
    private struct State {
        var workers: [Task<Void, Never>] = []
        var clients: [any RedisCommandRunning] = []
        var stopping = false
    }

    public let settings: RedisChatLogSettings
    /// This chatd's consumers are `{server}-{n}`.
    public let server: ServerID
    /// Its counts (`path="stream"`).
    public let metrics: ChatLogMetrics
    private let configuration: RedisConfiguration
    private let elasticsearch: ElasticsearchClient
    let logger: Logger
    private let state = Mutex(State())

    public init(
        configuration: RedisConfiguration,
        elasticsearch: ElasticsearchClient,
        server: ServerID,
        settings: RedisChatLogSettings = .init(),
        metrics factory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        precondition(settings.batchSize > 0 && settings.batchesInFlight > 0)
        self.metrics = ChatLogMetrics(path: "stream", factory: factory)
        self.configuration = configuration
        self.elasticsearch = elasticsearch
        self.server = server
        self.settings = settings
        self.logger = logger
    }

    /// Starts the consumers; returns at once.
    public func start() {
        state.withLock { state in
            guard state.workers.isEmpty, !state.stopping else { return }
            for index in 0..<settings.batchesInFlight {
                if index >= state.clients.count { state.clients.append(configuration.makeCommandClient(logger: logger)) }
                let client = state.clients[index]
                state.workers.append(Task { await self.work(index, on: client) })
            }
        }
    }

    /// Lets every consumer finish the batch it holds (and acknowledge what Elasticsearch
    /// confirmed) for up to `timeout`, then cancels the rest and closes the connections. What is
    /// still pending is claimed by another chatd after ``RedisChatLogSettings/claimAfter``, or by
    /// this one after a restart: nothing is lost either way.
    public func stop(within timeout: Duration = .seconds(10)) async {
        let (workers, clients) = state.withLock { state in
            state.stopping = true
            return (state.workers, state.clients)
        }
        let deadline = Task {
            try? await Task.sleep(for: timeout)
            for worker in workers { worker.cancel() }
        }
        for worker in workers { await worker.value }
        deadline.cancel()
        for client in clients { await client.shutdown() }
    }

    /// Stops at once without acknowledging anything more: what a SIGKILL does (tests).
    public func abandon() async {
        let (workers, clients) = state.withLock { state in
            state.stopping = true
            return (state.workers, state.clients)
        }
        for worker in workers { worker.cancel() }
        for client in clients { await client.shutdown() }
    }

    /// The streams' figures, asked of Redis on this indexer's first connection (started or not).
    public func figures() async throws -> ChatLogFigures {
        let client = state.withLock { state in
            if state.clients.isEmpty { state.clients.append(configuration.makeCommandClient(logger: logger)) }
            return state.clients[0]
        }
        return try await Self.figures(on: client)
    }

    // MARK: A consumer

    private var isStopping: Bool { state.withLock { $0.stopping } }

    /// The streams consumer `index` reads: its share of the partitions, and for consumer 0 the
    /// legacy stream.
    private func streams(of index: Int) -> [String] {
        let share = (0..<RedisKeys.partitions).filter { $0 % settings.batchesInFlight == index }.map(RedisKeys.chatLog)
        return index == 0 ? share + [RedisKeys.legacyChatLog] : share
    }

    private func work(_ index: Int, on client: any RedisCommandRunning) async {
        let consumer = "\(server.rawValue)-\(index)"
        var streams = streams(of: index)
        var backoff = settings.initialBackoff
        var groupsReady = false
        var failing = false
        var lastHousekeeping: ContinuousClock.Instant?
        // Streams where this consumer may hold pending entries (a failed batch, claimed ones,
        // or a consumer of this name before a restart): their own entries are read first.
        var ownPending = Set(streams)
        var turn = 0
        while !isStopping, !Task.isCancelled, !streams.isEmpty {
            do {
                if !groupsReady {
                    streams = try await Self.createGroups(streams, on: client)
                    groupsReady = true
                }
                if lastHousekeeping.map({ ContinuousClock.now - $0 >= settings.claimAfter / 2 }) ?? true {
                    lastHousekeeping = ContinuousClock.now
                    for stream in streams {
                        if try await claimStale(stream, on: client, as: consumer) { ownPending.insert(stream) }
                        if try await trimAcknowledged(stream, on: client), stream == RedisKeys.legacyChatLog {
                            streams.removeAll { $0 == stream }  // drained: nothing more comes
                        }
                    }
                }
                var found = false
                for stream in streams {
                    guard !Task.isCancelled else { return }
                    var entries: [Entry] = []
                    if ownPending.contains(stream) {
                        entries = try await read(stream, on: client, as: consumer, from: "0", block: false)
                        if entries.isEmpty { ownPending.remove(stream) }
                    }
                    if entries.isEmpty { entries = try await read(stream, on: client, as: consumer, from: ">", block: false) }
                    guard !entries.isEmpty else { continue }
                    found = true
                    do {
                        try await indexBatch(entries, from: stream, on: client)
                    } catch {
                        ownPending.insert(stream)
                        throw error
                    }
                }
                if !found, !streams.isEmpty {
                    // Nothing anywhere: wait on one stream (in turn) rather than spin.
                    turn = (turn + 1) % streams.count
                    let stream = streams[turn]
                    let entries = try await read(stream, on: client, as: consumer, from: ">", block: true)
                    if !entries.isEmpty, !Task.isCancelled {
                        do {
                            try await indexBatch(entries, from: stream, on: client)
                        } catch {
                            ownPending.insert(stream)
                            throw error
                        }
                    }
                }
                if failing { logger.notice("chat log: Elasticsearch accepts writes again") }
                failing = false
                backoff = settings.initialBackoff
            } catch {
                if Task.isCancelled { return }
                if let redisError = error as? RedisError, redisError.code == "NOGROUP" { groupsReady = false }
                // A read whose reply was lost (a command timeout on a loaded machine, a dropped
                // connection) may still have handed entries to this consumer: look at its own
                // pending ones first next time rather than leave them to the claim after
                // `claimAfter`.
                ownPending.formUnion(streams)
                metrics.countFailedBatch()
                if !failing {
                    logger.warning("chat log: indexing from the stream failed; entries stay pending and are retried", metadata: ["error": "\(error)"])
                }
                failing = true
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, settings.maximumBackoff)
            }
        }
    }

    struct Entry {
        var id: String
        var message: ChatMessage?
    }

    /// Indexes one batch and acknowledges what Elasticsearch settled; throws if anything stays
    /// pending (so the consumer backs off before reading it again).
    private func indexBatch(_ entries: [Entry], from stream: String, on client: any RedisCommandRunning) async throws {
        let messages = entries.compactMap(\.message)
        let outcomes = messages.isEmpty ? [] : try await ElasticsearchBulkRequest.send(messages, on: elasticsearch, refresh: settings.refreshOnWrite)
        var settled: [String] = []
        var retry = 0
        var firstReason = ""
        var outcomeIndex = 0
        var counts = (created: 0, alreadyStored: 0, rejected: 0)
        for entry in entries {
            guard let message = entry.message else {
                counts.rejected += 1  // not a chat message (or trimmed): nothing to index
                settled.append(entry.id)
                continue
            }
            let outcome = outcomes[outcomeIndex]
            outcomeIndex += 1
            switch outcome {
            case .created: counts.created += 1
            case .alreadyStored: counts.alreadyStored += 1
            case .rejected(let status, let reason):
                counts.rejected += 1
                logger.error(
                    "chat log: Elasticsearch rejected a message; it will not be in the log",
                    metadata: ["room": "\(message.room)", "epoch": "\(message.epoch)", "seq": "\(message.seq)", "status": "\(status)", "error": "\(reason)"]
                )
            case .retry(let reason):
                retry += 1
                if firstReason.isEmpty { firstReason = reason }
            }
            if outcome.isSettled { settled.append(entry.id) }
        }
        if !settled.isEmpty {
            _ = try await client.command(["XACK", stream, RedisKeys.chatLogGroup] + settled)
        }
        metrics.countIndexed(created: counts.created, alreadyStored: counts.alreadyStored, rejected: counts.rejected)
        if retry > 0 {
            throw ElasticsearchError.bulkItemsFailed(failed: retry, of: entries.count, firstReason: firstReason)
        }
    }

    private func read(_ stream: String, on client: any RedisCommandRunning, as consumer: String, from id: String, block: Bool) async throws -> [Entry] {
        var command = ["XREADGROUP", "GROUP", RedisKeys.chatLogGroup, consumer, "COUNT", String(settings.batchSize)]
        if block { command += ["BLOCK", String(max(1, Self.milliseconds(settings.readBlock)))] }
        command += ["STREAMS", stream, id]
        let reply = try await client.command(command)
        guard let streams = reply.array, let entries = streams.first?.array?.last?.array else { return [] }
        return entries.compactMap(Self.entry)
    }
}
