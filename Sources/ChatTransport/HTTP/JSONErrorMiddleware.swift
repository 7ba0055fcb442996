import ChatCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Turns every failure of a request into a JSON `{"message": …}` response with a fitting
/// status, including the router's own 404, which becomes a 405 with `Allow` when the path
/// exists for other methods. Unknown errors are logged and answered 500 without details.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as ChatError {
            return APIError(error).response
        } catch let error as HTTPError {
            if error.status == .notFound {
                return notFound(request).response
            }
            return APIError(error.status, error.body ?? error.status.reasonPhrase).response
        } catch is NIOTooManyBytesError {
            return APIError(.contentTooLarge, "request body is too large").response
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIError(.internalServerError, "internal server error").response
        }
    }

    private func notFound(_ request: Request) -> APIError {
        let allowed = APIRoutes.methods(forPath: request.uri.path)
        if allowed.isEmpty {
            return APIError(.notFound, "no such endpoint: \(request.method) \(request.uri.path)")
        }
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(.methodNotAllowed, "\(request.method) is not allowed here; use \(allow)", headers: [.allow: allow])
    }
}

/// The API's paths and their methods, for telling 404 from 405.
enum APIRoutes {
    private static let table: [(segments: [String], methods: [HTTPRequest.Method])] = [
        ([""], [.get]),
        (["client.js"], [.get]),
        (["client.css"], [.get]),
        (["v1", "tokens"], [.post]),
        (["v1", "tokens", "current"], [.delete]),
        (["v1", "chatrooms"], [.get, .post]),
        (["v1", "chatrooms", "users"], [.post]),
        (["v1", "chatrooms", "*", "users"], [.get]),
        (["v1", "chatrooms", "*", "join"], [.get]),
        (["v1", "users"], [.post, .delete]),
    ]

    static func methods(forPath path: String) -> [HTTPRequest.Method] {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if segments.count > 1, segments.last == "" { segments.removeLast() }
        return table.first { entry in
            entry.segments.count == segments.count
                && zip(entry.segments, segments).allSatisfy { $0 == "*" ? !$1.isEmpty : $0 == $1 }
        }?.methods ?? []
    }
}
