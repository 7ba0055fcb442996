import AsyncHTTPClient
import NIOCore

/// What one chatd says about itself on its admin listener's `GET /metrics`
/// (docs/operations.md, "Metrics"): its joined WebSockets and the rooms it holds a broker
/// subscription for.
struct ServerMetrics: Sendable, Equatable {
    /// `chatd_connections`, summed over its `auth` label.
    var connections: Int
    /// `chatd_rooms_active`: rooms with a member on this server, one subscription each.
    var roomsActive: Int

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ adminURL: String, http: HTTPClient) async throws -> ServerMetrics {
        var request = HTTPClientRequest(url: adminURL + "/metrics")
        request.method = .GET
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 16 << 20))
        guard response.status.code == 200 else { throw Unreadable(description: "GET \(adminURL)/metrics: \(response.status.code) \(body.prefix(200))") }
        return try parse(body, from: adminURL)
    }

    /// The two series out of Prometheus's text format.
    static func parse(_ text: String, from adminURL: String) throws -> ServerMetrics {
        var connections: Double?
        var rooms: Double?
        for line in text.split(separator: "\n") where line.hasPrefix("chatd_connections") || line.hasPrefix("chatd_rooms_active") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[1]) else { continue }
            let name = parts[0].prefix { $0 != "{" }
            if name == "chatd_connections" { connections = (connections ?? 0) + value }
            if name == "chatd_rooms_active" { rooms = (rooms ?? 0) + value }
        }
        guard let connections, let rooms else {
            throw Unreadable(description: "\(adminURL)/metrics has no chatd_connections or chatd_rooms_active (is it chatd's admin listener?)")
        }
        return ServerMetrics(connections: Int(connections.rounded()), roomsActive: Int(rooms.rounded()))
    }
}
