import ChatCore
import Logging
import Metrics
import Synchronization

/// Hands one subscriber a room's messages in sequence order, each once, and fills gaps from
/// the room's recent history.
///
/// Pub/Sub drops what is published while a subscriber connection is down, so after a reconnect
/// the next message arrives with a higher `seq` than expected. Messages are then held while the
/// missing ones are read from the history stream, and all are delivered in order. What history
/// no longer has (trimmed, or Redis unreachable) is skipped, logged and counted.
///
/// A message of another epoch than the last delivered one is a reset of the room's numbering
/// (the publish script started a new epoch): it is delivered and counting continues from it.
/// Epochs left behind are remembered, so a late message of one is dropped as old.
///
/// Messages travel as their payload bytes (``EncodedChatMessage``): sequencing needs only their
/// positions, and the fan-out frames the bytes.
final class RedisRoomDelivery: Sendable {
    typealias History = @Sendable (_ limit: Int) async throws -> [EncodedChatMessage]

    /// Messages missing between two positions; across a reset the two epochs differ.
    private struct Gap {
        var after: MessagePosition
        var before: MessagePosition
    }

    private struct State {
        var last: MessagePosition?
        var retired: Set<RoomEpoch> = []
        var filling = false
        var held: [EncodedChatMessage] = []
        var cancelled = false
    }

    private let state = Mutex(State())
    private let deliver: @Sendable (EncodedChatMessage) -> Void
    private let history: History
    private let historyLimit: Int
    private let missed: Counter
    private let logger: Logger

    init(
        historyLimit: Int,
        missed: Counter,
        logger: Logger,
        history: @escaping History,
        deliver: @escaping @Sendable (EncodedChatMessage) -> Void
    ) {
        self.historyLimit = historyLimit
        self.missed = missed
        self.logger = logger
        self.history = history
        self.deliver = deliver
    }

    /// A message from the channel, on the subscriber connection's event loop.
    func receive(_ message: EncodedChatMessage) {
        let gap: Gap? = state.withLock { state in
            if state.cancelled { return nil }
            if state.filling {
                state.held.append(message)
                return nil
            }
            return accept(message, &state)
        }
        if let gap { startFilling(gap) }
    }

    /// After this returns nothing more is delivered, not even a gap being filled.
    func cancel() {
        state.withLock { state in
            state.cancelled = true
            state.held = []
        }
    }

    /// How many of the newest history entries ``catchUp()`` reads.
    static let catchUpWindow = 100

    /// After the room's channel was subscribed again elsewhere (a cluster failover or slot move),
    /// reads the newest history and passes what follows the last delivered message through
    /// ``receive(_:)``: what was published while no subscription carried the room arrives now,
    /// not only once the next live message shows the gap. Before any delivery there is nothing
    /// to catch up on (the join's history covers it).
    func catchUp() {
        Task {
            guard let last = state.withLock({ $0.cancelled ? nil : $0.last }) else { return }
            let found: [EncodedChatMessage]
            do {
                found = try await history(min(historyLimit, Self.catchUpWindow))
            } catch {
                logger.warning("cannot read history to catch up after a resubscribe; the next message shows the gap", metadata: ["error": "\(error)"])
                return
            }
            // What follows the last delivered message; when that is no longer in the window, the
            // newest alone, whose gap ``receive(_:)`` then fills from the longer history.
            let newer = found.lastIndex { $0.position == last }.map { found[($0 + 1)...] } ?? found.suffix(1)
            for message in newer { receive(message) }
        }
    }

    /// Delivers `message` if it is the next one; returns the gap before it otherwise (the
    /// message is then held). Runs under the lock, so deliveries never overlap.
    private func accept(_ message: EncodedChatMessage, _ state: inout State) -> Gap? {
        guard let last = state.last else {
            state.last = message.position
            deliver(message)
            return nil
        }
        if message.position.epoch != last.epoch {
            guard !state.retired.contains(message.position.epoch) else { return nil }  // from before a reset
            if message.position.seq > 1 {
                // Messages of either epoch may have passed while this subscriber was away (the
                // new epoch continues above the stream's highest seq, or starts at 1 when the
                // stream was lost too): read the stream before going on.
                state.filling = true
                state.held.append(message)
                return Gap(after: last, before: message.position)
            }
            state.retired.insert(last.epoch)
            state.last = message.position
            deliver(message)
            return nil
        }
        if message.position.seq <= last.seq { return nil }  // seen already
        if message.position.seq == last.seq + 1 {
            state.last = message.position
            deliver(message)
            return nil
        }
        state.filling = true
        state.held.append(message)
        return Gap(after: last, before: message.position)
    }

    /// Reads of history to fill one gap before its messages count as missed (0.1 s apart,
    /// doubling: about 1.5 s of waiting in all, plus the reads themselves).
    static let fillAttempts = 5

    private func startFilling(_ gap: Gap) {
        Task { await self.fill(gap) }
    }

    private func fill(_ gap: Gap) async {
        let wanted = Int(min(max(0, gap.before.seq - gap.after.seq - 1), Int64(historyLimit)))
        var found: [EncodedChatMessage] = []
        // A gap comes with a reconnect, when Redis may still be hard to reach: retry before
        // counting the messages as missed, since history most likely still holds them.
        var delay = Duration.milliseconds(100)
        for attempt in 1...Self.fillAttempts {
            do {
                // Newer messages may have been added since the gap was seen; read a margin more.
                found = try await history(min(historyLimit, wanted + 100))
                break
            } catch {
                logger.warning("cannot read history to fill a gap", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                guard attempt < Self.fillAttempts, !state.withLock({ $0.cancelled }) else { break }
                try? await Task.sleep(for: delay)
                delay *= 2
            }
        }
        let next: Gap? = state.withLock { state in
            guard !state.cancelled else { return nil }
            // The stream's order is the room's order, across a reset too: deliver what lies
            // between the two positions there.
            var between: ArraySlice<EncodedChatMessage> = []
            if let start = found.firstIndex(where: { $0.position == gap.after }) {
                let rest = found[(start + 1)...]
                between = rest.prefix { $0.position != gap.before }
            } else {
                // The last delivered message was trimmed already: what follows it in its epoch,
                // then what precedes the held message in its epoch.
                between = found.filter { message in
                    if message.position.epoch == gap.before.epoch {
                        message.position.seq < gap.before.seq && (message.position.epoch != gap.after.epoch || message.position.seq > gap.after.seq)
                    } else {
                        message.position.epoch == gap.after.epoch && message.position.seq > gap.after.seq
                    }
                }[...]
            }
            var skipped: Int64 = 0
            var last = gap.after
            for message in between {
                if message.position.epoch == last.epoch {
                    skipped += max(0, message.position.seq - last.seq - 1)
                } else {
                    state.retired.insert(last.epoch)
                }
                last = message.position
                deliver(message)
            }
            if last.epoch == gap.before.epoch {
                skipped += max(0, gap.before.seq - 1 - last.seq)
            } else {
                state.retired.insert(last.epoch)
            }
            if skipped > 0 {
                missed.increment(by: Int(skipped))
                logger.warning("messages missed by a subscriber and no longer in history", metadata: ["count": "\(skipped)"])
            }
            state.last = MessagePosition(epoch: gap.before.epoch, seq: gap.before.seq - 1)
            state.filling = false
            var held = state.held
            state.held = []
            while !held.isEmpty {
                if let gap = accept(held.removeFirst(), &state) {
                    state.held += held
                    return gap
                }
            }
            return nil
        }
        if let next { startFilling(next) }
    }
}
