/// Errors of the chat domain. Each has a message fit to show a client; transports map the case
/// to a status (HTTP) or close code (WebSocket).
public enum ChatError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidUserName(String)
    case userNameTaken(UserName)
    case unknownUser(UserName)
    case invalidRoomID(String)
    case unknownRoom(RoomID)
    case invalidMessage(String)
    /// A backend (database, cache, broker, log) could not serve the request.
    case backendUnavailable(String)
    /// A store holds as much as it may (the in-memory stores' caps); nothing was added.
    case storageFull(String)

    public var message: String {
        switch self {
        case .invalidUserName(let reason): "invalid user name: \(reason)"
        case .userNameTaken(let name): "user name '\(name)' is already taken"
        case .unknownUser(let name): "unknown user '\(name)'"
        case .invalidRoomID(let text): "invalid chat room id '\(text)': expected a positive integer"
        case .unknownRoom(let room): "unknown chat room \(room)"
        case .invalidMessage(let reason): "invalid message: \(reason)"
        case .backendUnavailable(let what): "service unavailable: \(what)"
        case .storageFull(let what): "insufficient storage: \(what)"
        }
    }

    public var description: String { message }
}
