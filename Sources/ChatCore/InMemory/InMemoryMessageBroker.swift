import Synchronization

/// A broker in process memory: one process is the whole deployment, so publishing is a call.
///
/// Positions, the recent-history ring, post ids and delivery happen under one lock, which is
/// what makes "history before delivery" and "one order per room" hold; subscribers' closures
/// must therefore be quick and must not publish re-entrantly. Each room's epoch is made with its
/// counter and never changes while the process lives (the counter cannot be lost without losing
/// everything else too).
public final class InMemoryMessageBroker: MessageBroker {
    private struct Room {
        var epoch = RoomEpoch.random()
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

        var retained: ArraySlice<ChatMessage> { messages[start...] }

        func last(_ count: Int) -> [ChatMessage] {
            Array(messages[max(start, messages.count - count)...])
        }
    }

    private struct PostKey: Hashable {
        var room: RoomID
        var user: UserName
        var postID: PostID
    }

    private struct State {
        var rooms: [RoomID: Room] = [:]
        var nextSubscription: UInt64 = 0
        /// Post ids seen within the window, with the first answer.
        var posts: [PostKey: (position: MessagePosition, expires: ContinuousClock.Instant)] = [:]
        /// The same keys in the order they were remembered; the window is one length for all,
        /// so this is also their expiry order.
        var postExpiry: [(key: PostKey, expires: ContinuousClock.Instant)] = []
        var postExpiryStart = 0
    }

    /// How many messages per room ``recentHistory(of:limit:)`` can return.
    public let recentCapacity: Int
    /// How long a post id is remembered (per user and room).
    public let postIDWindow: Duration
    private let state = Mutex(State())

    public init(recentCapacity: Int = 1_000, postIDWindow: Duration = .seconds(300)) {
        precondition(recentCapacity > 0)
        self.recentCapacity = recentCapacity
        self.postIDWindow = postIDWindow
    }

    public func publish(_ draft: MessageDraft) async throws -> PublishReceipt {
        let now = ContinuousClock.now
        return state.withLock { state in
            Self.forgetExpiredPosts(in: &state, now: now)
            let key = draft.postID.map { PostKey(room: draft.room, user: draft.user, postID: $0) }
            if let key, let earlier = state.posts[key] {
                return PublishReceipt(message: draft.published(at: earlier.position), isRepeat: true)
            }
            var room = state.rooms.removeValue(forKey: draft.room) ?? Room()
            room.lastSeq += 1
            let message = draft.published(at: MessagePosition(epoch: room.epoch, seq: room.lastSeq))
            room.recent.append(message, capacity: recentCapacity)
            for deliver in room.subscribers.values {
                deliver(message)
            }
            state.rooms[draft.room] = room
            if let key {
                let expires = now + postIDWindow
                state.posts[key] = (message.position, expires)
                state.postExpiry.append((key, expires))
            }
            return PublishReceipt(message: message, isRepeat: false)
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

    public func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange {
        state.withLock { state in
            guard let recent = state.rooms[room]?.recent.retained else { return .unavailable }
            return MessageRange.after(position, in: recent, limit: limit)
        }
    }

    private static func forgetExpiredPosts(in state: inout State, now: ContinuousClock.Instant) {
        while state.postExpiryStart < state.postExpiry.count, state.postExpiry[state.postExpiryStart].expires <= now {
            let (key, expires) = state.postExpiry[state.postExpiryStart]
            if state.posts[key]?.expires == expires { state.posts[key] = nil }
            state.postExpiryStart += 1
        }
        if state.postExpiryStart > 1_024, state.postExpiryStart * 2 > state.postExpiry.count {
            // Compact in chunks so forgetting stays amortised O(1).
            state.postExpiry.removeFirst(state.postExpiryStart)
            state.postExpiryStart = 0
        }
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
