import HTTPTypes
import Hummingbird

/// The API's routes, listed once: the list registers every route on the Hummingbird router and
/// answers which methods a path has, so a known path with the wrong method gets 405 with
/// `Allow` (``JSONErrorMiddleware``) instead of the router's 404. Adding a route is one
/// ``add(_:_:body:_:)`` call.
struct RouteTable<Context: RequestContext>: Sendable {
    /// What a route's request body may be.
    enum Body: Sendable {
        /// The route reads no body.
        case none
        /// The route reads a JSON body: any other `Content-Type` is refused with 415, which
        /// also keeps out what a cross-site HTML form can send (text/plain, form encodings).
        case json
    }

    struct Route: Sendable {
        let method: HTTPRequest.Method
        let path: String
        let body: Body
        let handler: @Sendable (Request, Context) async throws -> Response
    }

    private(set) var routes: [Route] = []

    /// Adds a route; `path` uses the router's syntax (`:id` for a parameter).
    mutating func add<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method, _ path: String, body: Body = .none,
        _ handler: @escaping @Sendable (Request, Context) async throws -> Output
    ) {
        routes.append(
            Route(method: method, path: path, body: body) { request, context in
                try await handler(request, context).response(from: request, context: context)
            })
    }

    func register(on router: Router<Context>) {
        for route in routes {
            let body = route.body
            let handler = route.handler
            router.on(RouterPath(route.path), method: route.method) { request, context in
                if body == .json { try JSONBody.requireJSONContentType(request) }
                return try await handler(request, context)
            }
        }
    }

    /// The paths and their methods, for telling 404 from 405.
    var paths: RoutePaths {
        RoutePaths(routes.map { (RoutePaths.segments(of: $0.path), $0.method) })
    }
}

/// Paths with the methods each answers: what is left of a ``RouteTable`` once registered.
struct RoutePaths: Sendable {
    private let entries: [(segments: [String], method: HTTPRequest.Method)]

    init(_ entries: [(segments: [String], method: HTTPRequest.Method)]) {
        self.entries = entries
    }

    /// The methods registered for a path, in registration order; empty for an unknown path.
    func methods(forPath path: String) -> [HTTPRequest.Method] {
        var segments = Self.segments(of: path)
        if segments.count > 1, segments.last == "" { segments.removeLast() }
        var methods: [HTTPRequest.Method] = []
        for entry in entries where Self.matches(entry.segments, segments) && !methods.contains(entry.method) {
            methods.append(entry.method)
        }
        return methods
    }

    fileprivate static func segments(of path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
    }

    private static func matches(_ pattern: [String], _ segments: [String]) -> Bool {
        pattern.count == segments.count
            && zip(pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == "*" ? !$1.isEmpty : $0 == $1 }
    }
}
