import NIOCore

/// Carries every message of a room to every server that has members of it (Redis Pub/Sub in
/// production, channel `chatroom:{id}`).
///
/// Contract, relied on by the gap-free join and the resume:
/// - ``publish(_:)`` assigns the room's next position: within an epoch, seq counts 1, 2, 3, …
///   per room with no gaps. If the room's counter was lost or set back, numbering never goes
///   backwards silently: a new epoch starts and seq continues above the highest seq the broker
///   can still see. The message is recorded in the room's recent history *before* any
///   subscriber is handed it.
/// - A draft with a ``MessageDraft/postID`` already published by the same user in the same room
///   within the post-id window (a setting, default 5 minutes) is not published again: the
///   receipt says ``PublishReceipt/isRepeat`` and carries the first post's position.
/// - Each subscriber receives a room's messages in position order, each once.
/// - A subscription is live once ``subscribe(to:deliver:)`` returns: every message published
///   after that point reaches it.
public protocol MessageBroker: Sendable {
    func publish(_ draft: MessageDraft) async throws -> PublishReceipt

    /// Starts delivering `room`'s messages to `deliver`. The closure is called serially, in
    /// position order, and must not block: it runs on the broker's delivery path.
    func subscribe(
        to room: RoomID,
        deliver: @escaping @Sendable (ChatMessage) -> Void
    ) async throws -> any BrokerSubscription

    /// ``subscribe(to:deliver:)`` for the fan-out: each message as its payload bytes
    /// (``EncodedChatMessage``), same order and guarantees. A broker whose messages arrive as
    /// bytes (Redis) hands those on without decoding them; the default encodes each value once.
    func subscribeEncoded(
        to room: RoomID,
        deliver: @escaping @Sendable (EncodedChatMessage) -> Void
    ) async throws -> any BrokerSubscription

    /// The room's most recent messages, at most `limit`, oldest first.
    func recentHistory(of room: RoomID, limit: Int) async throws -> [ChatMessage]

    /// The messages of `room` after `position` in its recent history, at most `limit`, oldest
    /// first (see ``MessageRange``). Served when the history holds `position` itself or the
    /// message right after it (`(epoch, seq + 1)`); otherwise ``MessageRange/unavailable``.
    /// Messages of a later epoch that follow are included: the reader sees the reset.
    func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange

    /// `true` when the broker itself carries each published message into the chat log (Redis:
    /// the durable chat-log stream), so ``ChatService`` must not append it to the log again.
    var feedsChatLog: Bool { get }
}

extension MessageBroker {
    public var feedsChatLog: Bool { false }

    public func subscribeEncoded(
        to room: RoomID,
        deliver: @escaping @Sendable (EncodedChatMessage) -> Void
    ) async throws -> any BrokerSubscription {
        let allocator = ByteBufferAllocator()
        return try await subscribe(to: room) { deliver(EncodedChatMessage($0, allocator: allocator)) }
    }
}

/// A live subscription to one room. Cancel it when the server has no more members there.
public protocol BrokerSubscription: Sendable {
    func cancel() async
}
