import ChatCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Turns every failure of a request into a JSON `{"message": …}` response with a fitting
/// status, including the router's own 404, which becomes a 405 with `Allow` when the path
/// exists for other methods. Unknown errors are logged and answered 500 without details.
/// A request that asked for an upgrade is answered with `Connection: close`.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    /// The registered routes, for telling 405 from 404.
    let routes: RoutePaths
    let counters: TransportCounters

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = await answer(request, context: context, next: next)
        // The connection closes after a request with an Upgrade header that was not upgraded
        // (ChatServerChannel: NIO parses nothing more after it): say so, or a client reuses it.
        if request.headers[.upgrade] != nil { response.headers[.connection] = "close" }
        return response
    }

    private func answer(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as ChatError {
            if case .storageFull = error { counters.countStorageFull() }
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
        let allowed = routes.methods(forPath: request.uri.path)
        if allowed.isEmpty {
            return APIError(.notFound, "no such endpoint: \(request.method) \(request.uri.path)")
        }
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(.methodNotAllowed, "\(request.method) is not allowed here; use \(allow)", headers: [.allow: allow])
    }
}
