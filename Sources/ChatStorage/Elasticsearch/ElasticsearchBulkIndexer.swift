import ChatCore
import Foundation
import Logging
import Metrics
import NIOCore

/// Writes the chat log to Elasticsearch in the background, in `_bulk` batches, so posting a
/// message never waits for Elasticsearch and an Elasticsearch outage never fails a post.
///
/// Guarantees, and how:
/// - Nothing is duplicated: every message is a `create` with the deterministic id
///   `{room}-{epoch}-{seq}` in the index of its own month, so a batch retried after a lost answer gets
///   409 `version_conflict_engine_exception` for what was already stored, which counts as done.
/// - Nothing buffered is lost while Elasticsearch is down: a failed batch stays at the head of
///   the queue and is retried with capped exponential backoff, in order, until it is confirmed.
/// - The buffer is bounded (``Settings/capacity``). Beyond it ``enqueue(_:)`` refuses the excess
///   with ``ElasticsearchError/bufferFull(dropped:capacity:)``: the caller (ChatService.post)
///   logs every refused message with its room and seq, and ``ChatLogMetrics`` counts them (`chatd_chat_log_dropped_total`).
///   Blocking the post instead would stall every room on an archive outage.
/// - A whole request that fails (unreachable, timeout, 5xx, 429, but also 401/403 or a proxy's
///   4xx) is retried without limit: the queue keeps until the cause is fixed, one warning per
///   outage says why, and `chatd_chat_log_failed_batches_total` counts the attempts.
/// - Items Elasticsearch rejects for good (a 4xx other than 409 and 429, e.g. a mapping error)
///   are logged and counted (`chatd_chat_log_indexed_total{outcome="rejected"}`) rather than retried forever, which would
///   stall the whole log behind one bad document.
/// - ``shutdown(within:)`` keeps flushing (with retries) until the queue is empty or the time
///   is up, then logs how many messages were left unindexed.
public actor ElasticsearchBulkIndexer {
    public struct Settings: Sendable {
        /// Messages per `_bulk` request.
        public var batchSize = 500
        /// How long a partial batch waits for more messages before it is sent anyway.
        public var flushInterval: Duration = .milliseconds(50)
        /// Messages buffered at most while Elasticsearch is slow or down (about 100 MB at 1 KB each).
        public var capacity = 100_000
        public var initialBackoff: Duration = .milliseconds(100)
        public var maximumBackoff: Duration = .seconds(5)
        /// `?refresh=wait_for` on `_bulk`: a confirmed batch is searchable, which is what lets a
        /// read wait for the writes before it (see ``ElasticsearchMessageLog``). The cost (up to
        /// one refresh interval per batch) is paid by this background task, not by posters.
        public var refreshOnWrite = true

        public init() {}
    }

    private struct Entry {
        var ticket: UInt64
        var message: ChatMessage
    }

    private let client: ElasticsearchClient
    private let settings: Settings
    private let logger: Logger
    private var queue: [Entry] = []
    private var nextTicket: UInt64 = 1
    private var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    /// Per room, how many batches holding its messages were confirmed: a history query issued at
    /// generation g has seen every confirmed message of the room while the generation is still g.
    private var generations: [RoomID: UInt64] = [:]
    private var wake: CheckedContinuation<Void, Never>?
    private var sleepGeneration: UInt64 = 0
    private var urgent = false
    private var failing = false
    private var stopDeadline: ContinuousClock.Instant?
    private var loop: Task<Void, Never>?
    /// Its counts (`path="queue"`).
    public nonisolated let metrics: ChatLogMetrics

    public init(client: ElasticsearchClient, settings: Settings = Settings(), metrics factory: any MetricsFactory = MetricsSystem.factory, logger: Logger) {
        self.metrics = ChatLogMetrics(path: "queue", factory: factory)
        self.client = client
        self.settings = settings
        self.logger = logger
    }

    /// Queues messages for indexing; returns at once. Throws ``ElasticsearchError/bufferFull(dropped:capacity:)``
    /// for the messages beyond the capacity (the others are queued).
    public func enqueue(_ messages: [ChatMessage]) throws {
        guard !messages.isEmpty else { return }
        let room = max(0, settings.capacity - queue.count)
        for message in messages.prefix(room) {
            queue.append(Entry(ticket: nextTicket, message: message))
            nextTicket += 1
        }
        if loop == nil, stopDeadline == nil {
            loop = Task { await self.run() }
        }
        if !failing, queue.count >= settings.batchSize || queue.count == messages.prefix(room).count {
            wakeUp()  // a full batch, or the loop is idle waiting for the first message; never cut a backoff short
        }
        let refused = messages.count - min(messages.count, room)
        if refused > 0 {
            metrics.countDropped(refused)
            throw ElasticsearchError.bufferFull(dropped: refused, capacity: settings.capacity)
        }
    }

    /// Waits until the queued messages of `room` with a seq below `seq` (all of the room's when
    /// `nil`) are confirmed, and returns the room's generation then. Returns at once while
    /// Elasticsearch is failing: the read that follows will then fail or be stale, and must not
    /// hang for the length of an outage.
    func readyToRead(room: RoomID, below seq: Int64?) async -> UInt64 {
        if !failing, let last = queue.last(where: { entry in entry.message.room == room && (seq.map { entry.message.seq < $0 } ?? true) }) {
            urgent = true
            wakeUp()
            await withCheckedContinuation { waiters.append((last.ticket, $0)) }
        }
        return generations[room] ?? 0
    }

    /// Messages waiting to be confirmed.
    public var backlog: Int { queue.count }

    /// Flushes what is queued (retrying until `timeout` is up) and stops; later ``enqueue(_:)``
    /// calls are queued but never sent.
    public func shutdown(within timeout: Duration) async {
        stopDeadline = ContinuousClock.now + timeout
        wakeUp()
        await loop?.value
        if !queue.isEmpty {
            logger.error(
                "chat log: messages left unindexed at shutdown",
                metadata: ["count": "\(queue.count)", "first": "\(queue[0].message.room)-\(queue[0].message.seq)"]
            )
        }
        resumeWaiters(all: true)
    }

    // MARK: The loop

    private func run() async {
        var backoff = settings.initialBackoff
        while true {
            if queue.isEmpty {
                if stopDeadline != nil { return }
                await sleep(for: nil)
                continue
            }
            if queue.count < settings.batchSize, !urgent, stopDeadline == nil {
                await sleep(for: settings.flushInterval)  // let a partial batch fill up a little
            }
            let batch = Array(queue.prefix(settings.batchSize))
            do {
                let retry = try await send(batch)
                remove(batch, keeping: retry)
                if !retry.isEmpty {
                    throw ElasticsearchError.bulkItemsFailed(failed: retry.count, of: batch.count, firstReason: retry[0].reason)
                }
                if failing {
                    logger.notice("chat log: Elasticsearch accepts writes again", metadata: ["backlog": "\(queue.count)"])
                }
                failing = false
                backoff = settings.initialBackoff
            } catch {
                metrics.countFailedBatch()
                if !failing {
                    logger.warning("chat log: bulk write failed; retrying with backoff", metadata: ["error": "\(error)", "backlog": "\(queue.count)"])
                } else {
                    logger.debug("chat log: bulk write failed again", metadata: ["error": "\(error)"])
                }
                failing = true
                resumeWaiters(all: true)
                if let deadline = stopDeadline {
                    let left = deadline - ContinuousClock.now
                    if left <= .zero { return }
                    await sleep(for: min(backoff, left))
                } else {
                    await sleep(for: backoff)
                }
                backoff = min(backoff * 2, settings.maximumBackoff)
            }
            if queue.isEmpty { urgent = false }
        }
    }

    private struct Retry {
        var ticket: UInt64
        var reason: String
    }

    /// One `_bulk` request; returns the items to send again (429 and 5xx), having counted the rest.
    private func send(_ batch: [Entry]) async throws -> [Retry] {
        let outcomes = try await ElasticsearchBulkRequest.send(batch.map(\.message), on: client, refresh: settings.refreshOnWrite)
        var retry: [Retry] = []
        for (entry, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .created:
                metrics.countIndexed(created: 1)
            case .alreadyStored:
                metrics.countIndexed(alreadyStored: 1)
            case .retry(let reason):
                retry.append(Retry(ticket: entry.ticket, reason: reason))
            case .rejected(let status, let reason):
                metrics.countIndexed(rejected: 1)
                logger.error(
                    "chat log: Elasticsearch rejected a message; it will not be in the log",
                    metadata: ["room": "\(entry.message.room)", "epoch": "\(entry.message.epoch)", "seq": "\(entry.message.seq)", "status": "\(status)", "error": "\(reason)"]
                )
            }
        }
        return retry
    }

    /// Drops the batch's settled entries from the queue (those in `retry` stay, in order) and
    /// wakes the readers that waited for them.
    private func remove(_ batch: [Entry], keeping retry: [Retry]) {
        let keep = Set(retry.map(\.ticket))
        var rooms = Set<RoomID>()
        for entry in batch where !keep.contains(entry.ticket) { rooms.insert(entry.message.room) }
        let settledThrough = batch.last?.ticket ?? 0
        queue.removeAll { $0.ticket <= settledThrough && !keep.contains($0.ticket) }
        for room in rooms { generations[room, default: 0] += 1 }
        resumeWaiters(all: false)
    }

    private func resumeWaiters(all: Bool) {
        let oldestPending = queue.first?.ticket ?? .max
        var still: [(ticket: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        for waiter in waiters {
            if all || waiter.ticket < oldestPending || !queue.contains(where: { $0.ticket == waiter.ticket }) {
                waiter.continuation.resume()
            } else {
                still.append(waiter)
            }
        }
        waiters = still
    }

    /// Suspends the loop until ``wakeUp()`` or, with a duration, until it has passed.
    private func sleep(for duration: Duration?) async {
        sleepGeneration += 1
        let generation = sleepGeneration
        let timer = duration.map { duration in
            Task {
                try? await Task.sleep(for: duration)
                self.timerFired(generation)
            }
        }
        await withCheckedContinuation { wake = $0 }
        timer?.cancel()
    }

    private func timerFired(_ generation: UInt64) {
        if generation == sleepGeneration { wakeUp() }
    }

    private func wakeUp() {
        wake?.resume()
        wake = nil
    }
}
