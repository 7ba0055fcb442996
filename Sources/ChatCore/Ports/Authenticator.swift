/// Turns a client's credential into the identity it speaks as, and issues and revokes the
/// credentials it accepts. The transport calls it; the implementation (tokens, JWT) and its
/// cryptography live outside ChatCore (the ChatAuth target), wired in by the executable.
public protocol Authenticator: Sendable {
    /// Who presents `credential` (a bearer token), or nil when it is not valid (unknown,
    /// revoked, expired, badly signed). Backend failures throw ``ChatError/backendUnavailable(_:)``.
    func identify(_ credential: String) async throws(ChatError) -> Identity?

    /// Called once a user was created: keeps `password` (if any) and returns the user's first
    /// token, shown to the client once; nil when this authenticator does not issue tokens.
    func registered(_ user: UserName, password: String?) async throws(ChatError) -> String?

    /// A new token for `user` when `password` is theirs, else nil.
    func logIn(_ user: UserName, password: String) async throws(ChatError) -> String?

    /// Makes `credential` unusable from now on; false when it cannot be revoked (unknown, or a
    /// kind of credential that expires by itself instead).
    func revoke(_ credential: String) async throws(ChatError) -> Bool
}

/// Who a valid credential speaks for, and what it allows.
public struct Identity: Hashable, Sendable {
    public let user: UserName
    /// When the credential stops being valid (milliseconds since the epoch); nil: it does not expire.
    public let expiresAt: Int64?
    /// The only rooms the credential may join; nil: every room.
    public let rooms: Set<RoomID>?

    public init(user: UserName, expiresAt: Int64? = nil, rooms: Set<RoomID>? = nil) {
        self.user = user
        self.expiresAt = expiresAt
        self.rooms = rooms
    }

    public func mayJoin(_ room: RoomID) -> Bool {
        rooms?.contains(room) ?? true
    }
}
