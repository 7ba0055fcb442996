import ChatCore

/// What a joining connection is played before live messages: the room's recent history, or
/// for a resume (`since`, `epoch`) exactly the messages after the client's last one, and for a
/// `chat.v2` resume the `resumed` frame saying whether that gap could be filled.
struct JoinPlayback: Sendable {
    var messages: [ChatMessage]
    /// The last position the client holds when `messages` is empty (a resume that missed nothing).
    var through: MessagePosition?
    /// The `resumed` frame (chat.v2 resumes only), played after `messages`.
    var notice: String?

    static func make(for options: JoinOptions, room: RoomID, service: ChatService) async -> JoinPlayback {
        guard let resume = options.resume else { return JoinPlayback(messages: await service.history(of: room)) }
        let epoch: RoomEpoch
        if let given = resume.epoch {
            epoch = given
        } else {
            // A client that never saw an epoch (a seed client) resumes in the room's current one.
            epoch = await service.history(of: room, limit: 1).last?.epoch ?? .legacy
        }
        let position = MessagePosition(epoch: epoch, seq: resume.seq)
        let resumed = await service.resume(room, after: position)
        let played = resumed.messages
        guard resumed.recovered else {
            return JoinPlayback(
                messages: played,
                notice: options.speaksV2 ? ServerEnvelope.resumed(recovered: false, from: played.first?.seq, to: played.last?.seq) : nil
            )
        }
        return JoinPlayback(
            messages: played,
            through: position,
            notice: options.speaksV2 ? ServerEnvelope.resumed(recovered: true, from: resume.seq + 1, to: played.last?.seq ?? resume.seq) : nil
        )
    }
}
