import Hummingbird
import Metrics
import NIOCore
import Synchronization

/// `chatd_http_requests_total{route,status}` and `chatd_http_request_duration_seconds{route}`
/// for every HTTP request (not the WebSocket upgrades, which the join counts). Outermost, so it
/// sees the status the JSON error middleware answered with. `route` is the route's pattern
/// (`/v1/chatrooms/{id}/users`), never the path, so ids cannot grow the label set; requests
/// that match no route count as `unmatched`.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    final class Cache: Sendable {
        private let requests = Mutex<[String: Counter]>([:])
        private let durations = Mutex<[String: Metrics.Timer]>([:])
        let factory: any MetricsFactory

        init(factory: any MetricsFactory) { self.factory = factory }

        func record(route: String, status: Int, nanoseconds: Int64) {
            let key = "\(route) \(status)"
            let counter = requests.withLock { cache in
                if let counter = cache[key] { return counter }
                let counter = Counter(
                    label: "chatd_http_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory
                )
                cache[key] = counter
                return counter
            }
            counter.increment()
            let timer = durations.withLock { cache in
                if let timer = cache[route] { return timer }
                let timer = Metrics.Timer(
                    label: "chatd_http_request_duration_seconds", dimensions: [("route", route)], preferredDisplayUnit: .seconds,
                    factory: factory
                )
                cache[route] = timer
                return timer
            }
            timer.recordNanoseconds(nanoseconds)
        }
    }

    let cache: Cache

    init(counters: TransportCounters) {
        cache = Cache(factory: counters.factory)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            record(context, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: started)
            throw error
        }
        record(context, status: response.status.code, since: started)
        return response
    }

    private func record(_ context: Context, status: Int, since started: ContinuousClock.Instant) {
        let took = ContinuousClock.now - started
        let route = context.endpointPath.map { $0.replacing(/:(\w+)/) { "{\($0.1)}" } } ?? "unmatched"
        cache.record(route: route, status: status, nanoseconds: took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
    }
}
