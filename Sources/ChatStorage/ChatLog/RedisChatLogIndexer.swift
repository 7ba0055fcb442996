import ChatCore
import Logging
import Metrics
import NIOCore
import Synchronization

/// Feeds the chat log on Elasticsearch from the durable Redis stream `chat:log`, as one of the
/// consumer group's members; every chatd runs one.
///
/// Guarantees, and how:
/// - Nothing accepted is lost: the publish script appended the message to the stream in the
///   same atomic step that numbered it. An entry is acknowledged (XACK) only once Elasticsearch
///   confirmed it (created, or 409: already stored); until then it stays pending.
/// - A dead consumer's entries are not stranded: entries pending longer than
///   ``RedisChatLogSettings/claimAfter`` are claimed (XAUTOCLAIM) by a live indexer.
/// - Nothing is duplicated: documents have the deterministic id `{room}-{epoch}-{seq}`, so an
///   entry indexed twice (claimed after its first consumer wrote it but died before XACK) is a
///   409 the second time.
/// - Throughput: ``RedisChatLogSettings/batchesInFlight`` consumers per chatd, each on its own
///   connection with one `_bulk` batch in flight.
/// - The stream stays bounded: acknowledged entries are trimmed (XTRIM MINID, never past the
///   oldest pending or undelivered entry); the script's MAXLEN ~ cap is the last resort.
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
    private let logger: Logger
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

    /// The stream's figures, asked of Redis on this indexer's first connection (started or not).
    public func figures() async throws -> ChatLogFigures {
        let client = state.withLock { state in
            if state.clients.isEmpty { state.clients.append(configuration.makeCommandClient(logger: logger)) }
            return state.clients[0]
        }
        return try await Self.figures(on: client)
    }

    /// The stream's length and its oldest pending entry's age, asked of Redis.
    public static func figures(on client: any RedisCommandRunning) async throws -> ChatLogFigures {
        let length = try await client.command(["XLEN", RedisKeys.chatLog]).int ?? 0
        let summary: RESPValue
        do {
            summary = try await client.command(["XPENDING", RedisKeys.chatLog, RedisKeys.chatLogGroup])
        } catch let error as RedisError where error.code == "NOGROUP" {
            return ChatLogFigures(length: length, pending: 0, oldestPendingAge: nil)
        }
        let fields = summary.array ?? []
        let pending = fields.first?.int ?? 0
        guard pending > 0, fields.count > 1, let oldest = fields[1].string.flatMap(Self.milliseconds(ofID:)) else {
            return ChatLogFigures(length: length, pending: pending, oldestPendingAge: nil)
        }
        let time = try await client.command(["TIME"]).array ?? []
        let now = (time.first?.int ?? 0) * 1_000 + (time.count > 1 ? (time[1].int ?? 0) / 1_000 : 0)
        return ChatLogFigures(length: length, pending: pending, oldestPendingAge: .milliseconds(max(0, now - oldest)))
    }

    // MARK: A consumer

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func work(_ index: Int, on client: any RedisCommandRunning) async {
        let consumer = "\(server.rawValue)-\(index)"
        var backoff = settings.initialBackoff
        var groupReady = false
        var failing = false
        var lastHousekeeping: ContinuousClock.Instant?
        while !isStopping, !Task.isCancelled {
            do {
                if !groupReady {
                    try await Self.createGroup(on: client)
                    groupReady = true
                }
                if index == 0, lastHousekeeping.map({ ContinuousClock.now - $0 >= settings.claimAfter / 2 }) ?? true {
                    lastHousekeeping = ContinuousClock.now
                    try await claimStale(on: client, as: consumer)
                    try await trimAcknowledged(on: client)
                }
                // This consumer's own pending entries first (a retry, or claimed ones), then new.
                var entries = try await read(on: client, as: consumer, from: "0", block: false)
                if entries.isEmpty { entries = try await read(on: client, as: consumer, from: ">", block: true) }
                guard !entries.isEmpty, !Task.isCancelled else { continue }
                try await indexBatch(entries, on: client)
                if failing { logger.notice("chat log: Elasticsearch accepts writes again") }
                failing = false
                backoff = settings.initialBackoff
            } catch {
                if Task.isCancelled { return }
                if let redisError = error as? RedisError, redisError.code == "NOGROUP" { groupReady = false }
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

    private struct Entry {
        var id: String
        var message: ChatMessage?
    }

    /// Indexes one batch and acknowledges what Elasticsearch settled; throws if anything stays
    /// pending (so the consumer backs off before reading it again).
    private func indexBatch(_ entries: [Entry], on client: any RedisCommandRunning) async throws {
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
            _ = try await client.command(["XACK", RedisKeys.chatLog, RedisKeys.chatLogGroup] + settled)
        }
        metrics.countIndexed(created: counts.created, alreadyStored: counts.alreadyStored, rejected: counts.rejected)
        if retry > 0 {
            throw ElasticsearchError.bulkItemsFailed(failed: retry, of: entries.count, firstReason: firstReason)
        }
    }

    private func read(on client: any RedisCommandRunning, as consumer: String, from id: String, block: Bool) async throws -> [Entry] {
        var command = ["XREADGROUP", "GROUP", RedisKeys.chatLogGroup, consumer, "COUNT", String(settings.batchSize)]
        if block { command += ["BLOCK", String(max(1, Self.milliseconds(settings.readBlock)))] }
        command += ["STREAMS", RedisKeys.chatLog, id]
        let reply = try await client.command(command)
        guard let streams = reply.array, let entries = streams.first?.array?.last?.array else { return [] }
        return entries.compactMap(Self.entry)
    }

    /// Moves entries pending with any consumer for longer than the claim timeout to `consumer`;
    /// it reads them as its own pending entries next.
    private func claimStale(on client: any RedisCommandRunning, as consumer: String) async throws {
        var cursor = "0-0"
        for _ in 0..<100 {  // bounded: a huge backlog is claimed over several rounds
            let reply = try await client.command([
                "XAUTOCLAIM", RedisKeys.chatLog, RedisKeys.chatLogGroup, consumer,
                String(Self.milliseconds(settings.claimAfter)), cursor, "COUNT", String(settings.batchSize), "JUSTID",
            ])
            guard let fields = reply.array, fields.count >= 2, let next = fields[0].string else { return }
            let claimed = fields[1].array?.count ?? 0
            if claimed > 0 {
                metrics.countClaimed(claimed)
                logger.notice("chat log: claimed entries another indexer left pending", metadata: ["count": "\(claimed)"])
            }
            if next == "0-0" { return }
            cursor = next
        }
    }

    /// Trims what every consumer acknowledged: below the oldest pending entry and at most up to
    /// the group's last delivered entry (anything later was never read).
    private func trimAcknowledged(on client: any RedisCommandRunning) async throws {
        let groups = try await client.command(["XINFO", "GROUPS", RedisKeys.chatLog]).array ?? []
        var lastDelivered: String?
        for group in groups {
            let fields = group.array ?? []
            var name: String?
            var delivered: String?
            for index in stride(from: 0, to: fields.count - 1, by: 2) {
                if fields[index].string == "name" { name = fields[index + 1].string }
                if fields[index].string == "last-delivered-id" { delivered = fields[index + 1].string }
            }
            if name == RedisKeys.chatLogGroup { lastDelivered = delivered }
        }
        guard var floor = lastDelivered, floor != "0-0" else { return }
        let summary = try await client.command(["XPENDING", RedisKeys.chatLog, RedisKeys.chatLogGroup]).array ?? []
        if (summary.first?.int ?? 0) > 0, summary.count > 1, let oldest = summary[1].string, Self.id(oldest, isBelow: floor) {
            floor = oldest
        }
        _ = try await client.command(["XTRIM", RedisKeys.chatLog, "MINID", "~", floor])
    }

    static func createGroup(on client: any RedisCommandRunning) async throws {
        do {
            // From the stream's start: entries written before any indexer ran are indexed too.
            _ = try await client.command(["XGROUP", "CREATE", RedisKeys.chatLog, RedisKeys.chatLogGroup, "0", "MKSTREAM"])
        } catch let error as RedisError where error.code == "BUSYGROUP" {
            // Another chatd created it.
        }
    }

    private static func entry(_ value: RESPValue) -> Entry? {
        guard let parts = value.array, let id = parts.first?.string else { return nil }
        guard parts.count > 1, let fields = parts[1].array else { return Entry(id: id, message: nil) }  // trimmed while pending
        var index = 0
        while index + 1 < fields.count {
            if fields[index].string == "message", case .bulkString(let payload) = fields[index + 1] {
                return Entry(id: id, message: try? RedisMessageCodec.decode(payload))
            }
            index += 2
        }
        return Entry(id: id, message: nil)
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// The millisecond part of a stream id (`1700000000000-3`).
    private static func milliseconds(ofID id: String) -> Int64? {
        Int64(id.prefix { $0 != "-" })
    }

    private static func id(_ left: String, isBelow right: String) -> Bool {
        func parts(_ id: String) -> (Int64, Int64) {
            let split = id.split(separator: "-")
            return (Int64(split.first ?? "") ?? 0, split.count > 1 ? Int64(split[1]) ?? 0 : 0)
        }
        return parts(left) < parts(right)
    }
}
