/// What ``ChatService/resume(_:after:)`` plays to a joining client.
public struct ResumedHistory: Hashable, Sendable {
    /// Oldest first: the messages after the client's position, or the recent history.
    public var messages: [ChatMessage]
    /// `true`: ``messages`` are exactly what came after the position. `false`: the gap could
    /// not be filled and ``messages`` are the normal recent history.
    public var recovered: Bool

    public init(messages: [ChatMessage], recovered: Bool) {
        self.messages = messages
        self.recovered = recovered
    }
}
