import Synchronization

/// A broker in process memory: one process is the whole deployment, so publishing is a call.
///
/// Sequence numbers, the recent-history ring and delivery happen under one lock, which is what
/// makes "history before delivery" and "one order per room" hold; subscribers' closures must
/// therefore be quick and must not publish re-entrantly.
public final class InMemoryMessageBroker: MessageBroker {
    private struct Room {
        var lastSeq: Int64 = 0
        var recent = RecentRing()
        var subscribers: [UInt64: @Sendable (ChatMessage) -> Void] = [:]
    }

    /// A capped history: appends are amortised O(1) by trimming in chunks.
    private struct RecentRing {
        var messages: [ChatMessage] = []
        var start = 0

        mutating func append(_ message: ChatMessage, capacity: Int) {
            messages.append(message)
            if messages.count - start > capacity { start += 1 }
            if start > capacity {
                messages.removeFirst(start)
                start = 0
            }
        }

        func last(_ count: Int) -> [ChatMessage] {
            Array(messages[max(start, messages.count - count)...])
        }
    }

    private struct State {
        var rooms: [RoomID: Room] = [:]
        var nextSubscription: UInt64 = 0
    }

    /// How many messages per room ``recentHistory(of:limit:)`` can return.
    public let recentCapacity: Int
    private let state = Mutex(State())

    public init(recentCapacity: Int = 1_000) {
        precondition(recentCapacity > 0)
        self.recentCapacity = recentCapacity
    }

    public func publish(_ draft: MessageDraft) async throws -> ChatMessage {
        state.withLock { state in
            let message = draft.published(seq: (state.rooms[draft.room]?.lastSeq ?? 0) + 1)
            state.rooms[draft.room, default: Room()].lastSeq = message.seq
            state.rooms[draft.room]!.recent.append(message, capacity: recentCapacity)
            for deliver in state.rooms[draft.room]!.subscribers.values {
                deliver(message)
            }
            return message
        }
    }

    public func subscribe(
        to room: RoomID,
        deliver: @escaping @Sendable (ChatMessage) -> Void
    ) async throws -> any BrokerSubscription {
        let id = state.withLock { state in
            state.nextSubscription += 1
            state.rooms[room, default: Room()].subscribers[state.nextSubscription] = deliver
            return state.nextSubscription
        }
        return Subscription(broker: self, room: room, id: id)
    }

    public func recentHistory(of room: RoomID, limit: Int) async throws -> [ChatMessage] {
        guard limit > 0 else { return [] }
        return state.withLock { $0.rooms[room]?.recent.last(limit) ?? [] }
    }

    private func unsubscribe(room: RoomID, id: UInt64) {
        state.withLock { _ = $0.rooms[room]?.subscribers.removeValue(forKey: id) }
    }

    private struct Subscription: BrokerSubscription {
        let broker: InMemoryMessageBroker
        let room: RoomID
        let id: UInt64

        func cancel() async {
            broker.unsubscribe(room: room, id: id)
        }
    }
}
