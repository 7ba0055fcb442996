/// One message in a room, as every member receives it.
///
/// `seq` is the room's sequence number, assigned by the ``MessageBroker`` when the message is
/// published: it is gap-free and strictly increasing per room *within an epoch*, so every server
/// and every client sees one order, and a joining client can stitch history and live messages
/// without loss or duplication. `epoch` (``RoomEpoch``) changes only when the numbering had to
/// restart; a message of another epoch is a reset, never a duplicate.
public struct ChatMessage: Hashable, Sendable, Codable {
    public var room: RoomID
    public var user: UserName
    public var text: String
    /// Milliseconds since the Unix epoch, assigned by the server that accepted the message.
    public var timestamp: Int64
    public var seq: Int64
    /// The room's numbering era; not part of the seed's frame form (`chat.v2` carries it).
    public var epoch: RoomEpoch

    public init(room: RoomID, user: UserName, text: String, timestamp: Int64, seq: Int64, epoch: RoomEpoch = .legacy) {
        self.room = room
        self.user = user
        self.text = text
        self.timestamp = timestamp
        self.seq = seq
        self.epoch = epoch
    }

    /// `(epoch, seq)`: where the message stands in its room.
    public var position: MessagePosition { MessagePosition(epoch: epoch, seq: seq) }

    /// The seed's wire names: `{"chatroom": 7, "user": "John", "message": "hi", "timestamp": …, "seq": 1}`,
    /// plus `epoch` unless it is ``RoomEpoch/legacy`` (absent on decoding: legacy).
    enum CodingKeys: String, CodingKey {
        case room = "chatroom"
        case user
        case text = "message"
        case timestamp
        case seq
        case epoch
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        room = try container.decode(RoomID.self, forKey: .room)
        user = try container.decode(UserName.self, forKey: .user)
        text = try container.decode(String.self, forKey: .text)
        timestamp = try container.decode(Int64.self, forKey: .timestamp)
        seq = try container.decode(Int64.self, forKey: .seq)
        epoch = try container.decodeIfPresent(RoomEpoch.self, forKey: .epoch) ?? .legacy
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(room, forKey: .room)
        try container.encode(user, forKey: .user)
        try container.encode(text, forKey: .text)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(seq, forKey: .seq)
        if epoch != .legacy { try container.encode(epoch, forKey: .epoch) }
    }
}

/// A message on its way to the broker, before it has a position.
public struct MessageDraft: Hashable, Sendable {
    public var room: RoomID
    public var user: UserName
    public var text: String
    public var timestamp: Int64
    /// The client's id for this post, when it sent one: makes the publish idempotent.
    public var postID: PostID?

    public init(room: RoomID, user: UserName, text: String, timestamp: Int64, postID: PostID? = nil) {
        self.room = room
        self.user = user
        self.text = text
        self.timestamp = timestamp
        self.postID = postID
    }

    /// The published message once the broker assigned its position.
    public func published(at position: MessagePosition) -> ChatMessage {
        ChatMessage(room: room, user: user, text: text, timestamp: timestamp, seq: position.seq, epoch: position.epoch)
    }
}
