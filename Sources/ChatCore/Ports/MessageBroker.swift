/// Carries every message of a room to every server that has members of it (Redis Pub/Sub in
/// production, channel `chatroom:{id}`).
///
/// Contract, relied on by the gap-free join:
/// - ``publish(_:)`` assigns the room's next sequence number (1, 2, 3, … per room, no gaps) and
///   records the message in the room's recent history *before* any subscriber is handed it.
/// - Each subscriber receives a room's messages in sequence order, each once.
/// - A subscription is live once ``subscribe(to:deliver:)`` returns: every message published
///   after that point reaches it.
public protocol MessageBroker: Sendable {
    func publish(_ draft: MessageDraft) async throws -> ChatMessage

    /// Starts delivering `room`'s messages to `deliver`. The closure is called serially, in
    /// sequence order, and must not block: it runs on the broker's delivery path.
    func subscribe(
        to room: RoomID,
        deliver: @escaping @Sendable (ChatMessage) -> Void
    ) async throws -> any BrokerSubscription

    /// The room's most recent messages, at most `limit`, oldest first.
    func recentHistory(of room: RoomID, limit: Int) async throws -> [ChatMessage]
}

/// A live subscription to one room. Cancel it when the server has no more members there.
public protocol BrokerSubscription: Sendable {
    func cancel() async
}
