import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /healthz` and `GET /readyz` (docs/operations.md, "Health and readiness"), on the public
/// listener and on the admin listener alike.
enum HealthRoutes {
    static func add<Context: RequestContext>(to routes: inout RouteTable<Context>, readiness: Readiness) {
        routes.add(.get, "/healthz") { _, _ in json(.ok, ["status": "ok"]) }
        routes.add(.get, "/readyz") { _, _ in answer(await readiness.report()) }
    }

    /// 200 `{"status":"ready","backends":{…}}`, or 503 with a `message` naming what is down
    /// (`"status":"not ready"`) or saying the server drains (`"status":"draining"`).
    static func answer(_ report: Readiness.Report) -> Response {
        var body: [String: Any] = ["backends": report.backends.mapValues { $0 ? "up" : "down" }]
        let down = report.backends.filter { !$0.value }.keys.sorted()
        if report.draining {
            body["status"] = "draining"
            body["message"] = "not ready: the server is shutting down"
        } else if !down.isEmpty {
            body["status"] = "not ready"
            body["message"] = "not ready: \(down.joined(separator: ", ")) \(down.count == 1 ? "is" : "are") down"
        } else {
            body["status"] = "ready"
        }
        return json(report.isReady ? .ok : .serviceUnavailable, body)
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
