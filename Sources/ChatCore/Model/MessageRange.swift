/// The answer of a range read for a resume (`since=SEQ&epoch=E`): the messages after a position,
/// or that this source cannot say what came after it.
public enum MessageRange: Hashable, Sendable {
    /// Every message after the position that this source holds, oldest first, at most the limit
    /// asked for (ask for one more than you can play to learn that there were more). Empty: the
    /// position is the newest message.
    case messages([ChatMessage])
    /// The position cannot be served here: its epoch is unknown to this source, or it is older
    /// than anything kept (or newer than anything published).
    case unavailable
}

/// What ``MessageBroker/publish(_:)`` did.
public struct PublishReceipt: Hashable, Sendable {
    /// The published message; for a repeat, the draft at the *first* post's position.
    public var message: ChatMessage
    /// The draft's post id was seen within the window: nothing was published again, and
    /// ``message`` carries the earlier post's epoch and seq.
    public var isRepeat: Bool

    public init(message: ChatMessage, isRepeat: Bool) {
        self.message = message
        self.isRepeat = isRepeat
    }

    public var position: MessagePosition { message.position }
}

extension MessageRange {
    /// The range read over messages held in position order (a broker's recent history): served
    /// from `position` itself or from `(epoch, seq + 1)`, as ``MessageBroker`` specifies.
    public static func after(
        _ position: MessagePosition,
        in ordered: some BidirectionalCollection<ChatMessage>,
        limit: Int
    ) -> MessageRange {
        let next = MessagePosition(epoch: position.epoch, seq: position.seq + 1)
        guard let start = ordered.lastIndex(where: { $0.position == position || $0.position == next }) else {
            return .unavailable
        }
        let first = ordered[start].position == position ? ordered.index(after: start) : start
        return .messages(Array(ordered[first...].prefix(max(0, limit))))
    }
}
