import Logging
import Metrics

/// Errors of the chat domain. Each has a message fit to show a client; transports map the case
/// to a status (HTTP) or close code (WebSocket).
public enum ChatError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidUserName(String)
    case invalidPassword(String)
    case userNameTaken(UserName)
    case unknownUser(UserName)
    case invalidRoomID(String)
    case unknownRoom(RoomID)
    case invalidMessage(String)
    /// A backend (database, cache, broker, log) could not serve the request.
    case backendUnavailable(String)
    /// No credential, or one that is not valid (HTTP 401).
    case unauthenticated(String)
    /// A valid credential that does not allow this (HTTP 403).
    case forbidden(String)
    /// Too many requests of one kind from one client or user (HTTP 429).
    case rateLimited(String)
    /// A store holds as much as it may (the in-memory stores' caps); nothing was added.
    case storageFull(String)

    public var message: String {
        switch self {
        case .invalidUserName(let reason): "invalid user name: \(reason)"
        case .invalidPassword(let reason): "invalid password: \(reason)"
        case .userNameTaken(let name): "user name '\(name)' is already taken"
        case .unknownUser(let name): "unknown user '\(name)'"
        case .invalidRoomID(let text): "invalid chat room id '\(text)': expected a positive integer"
        case .unknownRoom(let room): "unknown chat room \(room)"
        case .invalidMessage(let reason): "invalid message: \(reason)"
        case .backendUnavailable(let what): "service unavailable: \(what)"
        case .unauthenticated(let reason), .forbidden(let reason), .rateLimited(let reason): reason
        case .storageFull(let what): "insufficient storage: \(what)"
        }
    }

    public var description: String { message }
}

extension ChatError {
    /// Runs a backend call and maps its failure the one way callers expect: a ``ChatError``
    /// passes through, anything else is logged and becomes ``backendUnavailable(_:)``.
    public static func fromBackend<T>(
        _ operation: String, port: String = "store", logger: Logger, message: Logger.Message = "backend failed",
        _ body: () async throws -> T
    ) async throws(ChatError) -> T {
        do {
            return try await body()
        } catch let error as ChatError {
            throw error
        } catch {
            // `port` names the ChatCore port (broker, presence, users, ...): which backend
            // serves it is the deployment's (docs/operations.md, "Metrics").
            Counter(label: "chatd_backend_errors_total", dimensions: [("backend", port), ("operation", operation)]).increment()
            logger.error(message, metadata: ["operation": "\(operation)", "error": "\(error)"])
            throw .backendUnavailable(operation)
        }
    }
}
