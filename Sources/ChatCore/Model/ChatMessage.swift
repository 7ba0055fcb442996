/// One message in a room, as every member receives it.
///
/// `seq` is the room's sequence number, assigned by the ``MessageBroker`` when the message is
/// published: it is gap-free and strictly increasing per room, so every server and every client
/// sees one order, and a joining client can stitch history and live messages without loss or
/// duplication.
public struct ChatMessage: Hashable, Sendable, Codable {
    public var room: RoomID
    public var user: UserName
    public var text: String
    /// Milliseconds since the Unix epoch, assigned by the server that accepted the message.
    public var timestamp: Int64
    public var seq: Int64

    public init(room: RoomID, user: UserName, text: String, timestamp: Int64, seq: Int64) {
        self.room = room
        self.user = user
        self.text = text
        self.timestamp = timestamp
        self.seq = seq
    }

    /// The seed's wire names: `{"chatroom": 7, "user": "John", "message": "hi", "timestamp": …, "seq": 1}`.
    enum CodingKeys: String, CodingKey {
        case room = "chatroom"
        case user
        case text = "message"
        case timestamp
        case seq
    }
}

/// A message on its way to the broker, before it has a sequence number.
public struct MessageDraft: Hashable, Sendable {
    public var room: RoomID
    public var user: UserName
    public var text: String
    public var timestamp: Int64

    public init(room: RoomID, user: UserName, text: String, timestamp: Int64) {
        self.room = room
        self.user = user
        self.text = text
        self.timestamp = timestamp
    }

    /// The published message once the broker assigned `seq`.
    public func published(seq: Int64) -> ChatMessage {
        ChatMessage(room: room, user: user, text: text, timestamp: timestamp, seq: seq)
    }
}
