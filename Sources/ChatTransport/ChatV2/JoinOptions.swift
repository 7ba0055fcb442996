import ChatCore

/// What a join asks for beyond the seed's: the opt-in protocol (`chat.v2`) and a point to
/// resume from. Judged before the upgrade, so a malformed value is a 400 with its reason.
struct JoinOptions: Equatable, Sendable {
    /// The WebSocket subprotocol name of the opt-in protocol.
    static let subprotocol = "chat.v2"

    /// The client gets JSON envelopes (docs/protocol.md) instead of the seed's bare messages.
    var speaksV2 = false
    /// `since=SEQ[&epoch=E]`: play exactly what came after that message instead of the recent history.
    var resume: ResumePoint?

    /// The seed's join: bare messages, recent history.
    static let seed = JoinOptions()

    /// The options of `join`, given the values of its `Sec-WebSocket-Protocol` headers.
    init(_ join: JoinRequest, subprotocolHeaders: [String]) throws(APIError) {
        speaksV2 = Self.subprotocolAnswer(offered: subprotocolHeaders) != nil
        switch join.protocolVersion {
        case nil, "1": break
        case "2": speaksV2 = true
        case let other?:
            throw APIError(.badRequest, "unsupported protocol '\(other)': use protocol=2 (chat.v2) or leave it out")
        }
        if let since = join.since {
            guard let seq = Int64(since), seq >= 0 else {
                throw APIError(.badRequest, "invalid since '\(since)': expected the seq of the last message received (0 or more)")
            }
            var epoch: RoomEpoch?
            if let text = join.epoch {
                do {
                    epoch = try RoomEpoch(validating: text)
                } catch {
                    throw APIError(.badRequest, "invalid epoch '\(text)': \(error.message)")
                }
            }
            resume = ResumePoint(seq: seq, epoch: epoch)
        } else if join.epoch != nil {
            throw APIError(.badRequest, "epoch= needs since=: the seq of the last message received in that epoch")
        }
    }

    init(speaksV2: Bool = false, resume: ResumePoint? = nil) {
        self.speaksV2 = speaksV2
        self.resume = resume
    }

    /// The `Sec-WebSocket-Protocol` answer of the 101: chosen only when the client offered it.
    static func subprotocolAnswer(offered subprotocolHeaders: [String]) -> String? {
        subprotocolHeaders.flatMap { $0.split(separator: ",") }
            .contains { $0.trimmingCharacters(in: .whitespaces) == subprotocol } ? subprotocol : nil
    }
}

/// The last message a reconnecting client holds: `(epoch, seq)`; the epoch may be left out
/// (a seed client never saw one), and the room's current epoch is then assumed.
struct ResumePoint: Equatable, Sendable {
    let seq: Int64
    let epoch: RoomEpoch?
}
