/// Who may do what on the server: the authentication mode and the limits that go with it.
/// The defaults are safe to expose: tokens required, 20 failed attempts a minute per address.
public struct AccessSettings: Sendable {
    /// How clients prove who they are.
    public enum Mode: String, Sendable, CaseIterable {
        /// Tokens issued by chatd itself (`POST /v1/users`, `POST /v1/tokens`): the default.
        case token
        /// JSON Web Tokens from the operator's identity provider.
        case jwt
        /// No authentication at all: the seed's open behaviour, for trusted networks only.
        case open = "none"
    }

    public var mode: Mode
    /// The secret `DELETE /v1/users` (and every later admin route) needs as its bearer token;
    /// nil: admin routes are refused (403) unless `mode` is `.none`.
    public var adminToken: String?
    /// When true, listing rooms, a room's users and searching a room need a token too.
    public var privateRooms: Bool
    /// Failed credential checks one client address may make per minute before it gets 429
    /// (bursts of as many); nil: unlimited.
    public var maximumFailedAttemptsPerMinute: Int?
    /// Rooms one user may create per minute before getting 429 (bursts of as many); nil: unlimited.
    public var maximumRoomsPerUserPerMinute: Int?

    public init(
        mode: Mode = .token,
        adminToken: String? = nil,
        privateRooms: Bool = false,
        maximumFailedAttemptsPerMinute: Int? = 20,
        maximumRoomsPerUserPerMinute: Int? = 10
    ) {
        self.mode = mode
        self.adminToken = adminToken
        self.privateRooms = privateRooms
        self.maximumFailedAttemptsPerMinute = maximumFailedAttemptsPerMinute
        self.maximumRoomsPerUserPerMinute = maximumRoomsPerUserPerMinute
    }
}
