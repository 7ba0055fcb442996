import ChatCore
import Logging
import Synchronization

/// Hands one subscriber a room's messages in sequence order, each once, and fills gaps from
/// the room's recent history.
///
/// Pub/Sub drops what is published while a subscriber connection is down, so after a reconnect
/// the next message arrives with a higher `seq` than expected. Messages are then held while the
/// missing ones are read from the history stream, and all are delivered in order. What history
/// no longer has (trimmed, or Redis unreachable) is skipped, logged and counted.
final class RedisRoomDelivery: Sendable {
    typealias History = @Sendable (_ limit: Int) async throws -> [ChatMessage]

    private struct Gap {
        var after: Int64
        var before: Int64
    }

    private struct State {
        var last: Int64?
        var filling = false
        var held: [ChatMessage] = []
        var cancelled = false
    }

    private let state = Mutex(State())
    private let deliver: @Sendable (ChatMessage) -> Void
    private let history: History
    private let historyLimit: Int
    private let missed: RedisCounter
    private let logger: Logger

    init(
        historyLimit: Int,
        missed: RedisCounter,
        logger: Logger,
        history: @escaping History,
        deliver: @escaping @Sendable (ChatMessage) -> Void
    ) {
        self.historyLimit = historyLimit
        self.missed = missed
        self.logger = logger
        self.history = history
        self.deliver = deliver
    }

    /// A message from the channel, on the subscriber connection's event loop.
    func receive(_ message: ChatMessage) {
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

    /// Delivers `message` if it is the next one; returns the gap before it otherwise (the
    /// message is then held). Runs under the lock, so deliveries never overlap.
    private func accept(_ message: ChatMessage, _ state: inout State) -> Gap? {
        guard let last = state.last, message.seq != last + 1 else {
            state.last = message.seq
            deliver(message)
            return nil
        }
        if message.seq <= last {
            // Seen already, unless the count began again at 1: Redis lost the room's counter
            // (a restart without persistence), and the new count is the room's order now.
            if message.seq == 1 {
                state.last = 1
                deliver(message)
            }
            return nil
        }
        state.filling = true
        state.held.append(message)
        return Gap(after: last, before: message.seq)
    }

    /// Reads of history to fill one gap before its messages count as missed (0.1 s apart,
    /// doubling: about 1.5 s of waiting in all, plus the reads themselves).
    static let fillAttempts = 5

    private func startFilling(_ gap: Gap) {
        Task { await self.fill(gap) }
    }

    private func fill(_ gap: Gap) async {
        let wanted = Int(min(gap.before - gap.after - 1, Int64(historyLimit)))
        var found: [ChatMessage] = []
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
            var skipped: Int64 = 0
            for message in found where message.seq > (state.last ?? gap.after) && message.seq < gap.before {
                skipped += message.seq - (state.last ?? gap.after) - 1
                state.last = message.seq
                deliver(message)
            }
            skipped += gap.before - 1 - (state.last ?? gap.after)
            if skipped > 0 {
                missed.increment(by: Int(skipped))
                logger.warning("messages missed by a subscriber and no longer in history", metadata: ["count": "\(skipped)"])
            }
            state.last = max(state.last ?? gap.after, gap.before - 1)
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
