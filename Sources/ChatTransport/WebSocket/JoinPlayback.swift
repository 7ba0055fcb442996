import ChatCore

/// What a joining connection is played before live messages: the room's recent history, or
/// for a resume (`since`, `epoch`) exactly the messages after the client's last one, and for a
/// `chat.v2` resume the `resumed` frame saying whether that gap could be filled.
struct JoinPlayback: Sendable {
    var messages: [ChatMessage]
    /// The last seq the client holds when `messages` is empty (a resume that missed nothing).
    var through: Int64?
    /// The `resumed` frame (chat.v2 resumes only), played after `messages`.
    var notice: String?

    static func make(for options: JoinOptions, room: RoomID, service: ChatService) async -> JoinPlayback {
        let history = await service.history(of: room)
        guard options.resume != nil else { return JoinPlayback(messages: history) }
        return JoinPlayback(
            messages: history,
            notice: options.speaksV2 ? ServerEnvelope.resumed(recovered: false, from: history.first?.seq, to: history.last?.seq) : nil
        )
    }
}
