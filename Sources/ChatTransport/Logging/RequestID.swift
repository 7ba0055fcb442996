import Hummingbird
import Logging

/// The id of the HTTP request or WebSocket join being handled, in a task-local, so every line
/// logged on its behalf (a refusal deep in access control, a backend failure) carries it
/// without passing loggers around: chatd's log handlers read it through ``metadataProvider``.
public enum RequestID {
    @TaskLocal static var current: String?

    /// Adds `request` (the current id) to every log line, when there is one.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let id = current else { return [:] }
        return ["request": "\(id)"]
    }

    /// A fresh id for a join (HTTP requests use Hummingbird's).
    static func make() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }
}

/// Runs each HTTP request with its Hummingbird request id as ``RequestID/current``.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await RequestID.$current.withValue(context.id) { try await next(request, context) }
    }
}
