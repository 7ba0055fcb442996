/// A change in who is in a room: a user's first connection there entering, or their last one
/// leaving (closed, or reaped with a server that vanished), on any server.
public struct PresenceEvent: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case join
        case leave
    }

    public var room: RoomID
    public var user: UserName
    public var kind: Kind

    public init(room: RoomID, user: UserName, kind: Kind) {
        self.room = room
        self.user = user
        self.kind = kind
    }
}
