import ChatCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOWebSocket

/// The admin listener's routes (docs/operations.md, "Admin API"; the contract is the lead's
/// admin-api note): `GET /metrics`, the health routes, and under `/v1/admin/` what operators
/// steer the chat with, behind the admin token.
struct AdminAPI {
    let settings: AdminSettings
    let service: ChatService
    let cluster: any ClusterControl
    let heartbeat: NodeHeartbeat
    let connections: LocalConnections
    let counters: TransportCounters
    let readiness: Readiness
    let maximumBodyBytes: Int
    /// The metrics in Prometheus's text format.
    let exposition: @Sendable () async -> String

    struct Publish: Decodable {
        let message: String
        let user: String?
    }
    struct Disconnect: Decodable {
        let code: Int?
        let reason: String?
    }
    struct Disconnected: ResponseEncodable {
        let user: String
        let code: Int
        let reason: String
        let localConnections: Int
    }
    struct RoomSummary: Encodable {
        let id: RoomID
        let users: Int
        let connections: Int
    }
    struct Rooms: ResponseEncodable { let chatrooms: [RoomSummary] }
    struct UserPresence: Encodable {
        let user: String
        let connections: Int
    }
    struct Presence: ResponseEncodable {
        let chatroom: RoomID
        let users: [UserPresence]
    }
    struct Node: Encodable {
        let id: String
        let address: String
        let connections: Int
        let rooms: Int
        let uptimeSeconds: Double
        let version: String
        let lastSeen: Int64
    }
    struct Nodes: ResponseEncodable { let nodes: [Node] }

    /// The user name of messages the server sends in its own name.
    static let serverUser = UserName(trusted: "server")
    /// A close reason fits a close frame's 125 bytes with its code.
    static let maximumReasonBytes = 123

    func routes() -> RouteTable<ChatRequestContext> {
        var routes = RouteTable<ChatRequestContext>()
        routes.add(.get, "/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: await exposition()))
            )
        }
        HealthRoutes.add(to: &routes, readiness: readiness)
        routes.add(.post, "/v1/admin/chatrooms/:id/messages", body: .json) { request, context in
            try authorize(request)
            return try await publish(request, room: try RoomID(parsing: context.parameters.get("id") ?? ""))
        }
        // The body is optional; when there is one it must be JSON (checked in `disconnect`).
        routes.add(.post, "/v1/admin/users/:name/disconnect") { request, context in
            try authorize(request)
            return try await disconnect(request, user: context.parameters.get("name") ?? "")
        }
        routes.add(.get, "/v1/admin/chatrooms") { request, _ in
            try authorize(request)
            return Rooms(chatrooms: try await rooms())
        }
        routes.add(.get, "/v1/admin/chatrooms/:id/presence") { request, context in
            try authorize(request)
            let room = try RoomID(parsing: context.parameters.get("id") ?? "")
            _ = try await service.users(in: room)  // 404 for an unknown room
            return Presence(chatroom: room, users: try await presence(in: room))
        }
        routes.add(.get, "/v1/admin/nodes") { request, _ in
            try authorize(request)
            return Nodes(nodes: try await nodes())
        }
        return routes
    }

    /// 403 while the admin API is disabled; 401 without the admin token or with another one.
    private func authorize(_ request: Request) throws {
        guard let token = settings.token else {
            counters.reject(.adminToken, "admin API disabled")
            throw APIError(.forbidden, "the admin API is disabled: start chatd with --admin-token")
        }
        guard let given = AccessControl.bearer(request.headers[.authorization]), ConstantTime.equal(given, token) else {
            counters.reject(.adminToken, "missing or wrong admin token")
            throw APIError(.unauthorized, "this is an admin route: send Authorization: Bearer ADMIN_TOKEN", headers: [.wwwAuthenticate: "Bearer"])
        }
    }

    private func publish(_ request: Request, room: RoomID) async throws -> Response {
        let body = try JSONBody.decode(
            Publish.self, from: try await request.body.collect(upTo: maximumBodyBytes), example: #"{"message": "text", "user": "optional name"}"#
        )
        let user: UserName
        if let name = body.user {
            user = try await service.admit(user: name, to: room)  // the user and the room must exist
        } else {
            _ = try await service.users(in: room)  // the room must exist
            user = Self.serverUser
        }
        let receipt = try await service.post(body.message, by: user, in: room)
        counters.countPublished()
        var buffer = ByteBuffer()
        ChatMessageJSON.write(receipt.message, includingEpoch: true, into: &buffer)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    private func disconnect(_ request: Request, user rawUser: String) async throws -> Disconnected {
        let collected = try await request.body.collect(upTo: maximumBodyBytes)
        var body = Disconnect(code: nil, reason: nil)
        if collected.readableBytes > 0 {
            try JSONBody.requireJSONContentType(request)
            body = try JSONBody.decode(Disconnect.self, from: collected, example: #"{"code": 4000, "reason": "…"}"#)
        }
        let user = try UserName(validating: rawUser)
        let code = body.code ?? 4000
        guard (4000...4999).contains(code) else { throw APIError(.badRequest, "code must be from 4000 to 4999") }
        let reason = body.reason ?? "disconnected by the server's operator"
        guard reason.utf8.count <= Self.maximumReasonBytes else {
            throw APIError(.badRequest, "reason must be at most \(Self.maximumReasonBytes) bytes of UTF-8")
        }
        let closed = connections.disconnect(user, code: WebSocketErrorCode(codeNumber: code), reason: reason)
        do {
            try await cluster.broadcast(.disconnect(user: user.rawValue, code: UInt16(code), reason: reason))
        } catch {
            throw APIError(.serviceUnavailable, "this server closed \(closed) connections; the other servers could not be told: \(error)")
        }
        return Disconnected(user: user.rawValue, code: code, reason: reason, localConnections: closed)
    }

    /// Every live server's presence: this one's fresh, the others' from their last heartbeat.
    private func clusterPresence() async throws -> [[String: [String: Int]]] {
        var all = try await otherNodes().map(\.presence)
        all.append(heartbeat.localPresence())
        return all
    }

    private func rooms() async throws -> [RoomSummary] {
        var users: [RoomID: Set<String>] = [:]
        var counts: [RoomID: Int] = [:]
        for presence in try await clusterPresence() {
            for (room, members) in presence {
                guard let number = Int64(room) else { continue }
                let id = RoomID(number)
                users[id, default: []].formUnion(members.keys)
                counts[id, default: 0] += members.values.reduce(0, +)
            }
        }
        return users.keys.sorted { $0.rawValue < $1.rawValue }.map { RoomSummary(id: $0, users: users[$0]!.count, connections: counts[$0]!) }
    }

    private func presence(in room: RoomID) async throws -> [UserPresence] {
        var counts: [String: Int] = [:]
        for presence in try await clusterPresence() {
            for (user, connections) in presence[String(room.rawValue)] ?? [:] { counts[user, default: 0] += connections }
        }
        return counts.keys.sorted().map { UserPresence(user: $0, connections: counts[$0]!) }
    }

    private func otherNodes() async throws -> [NodeStatus] {
        do {
            return try await cluster.nodes().filter { $0.id != service.server.rawValue }
        } catch {
            throw APIError(.serviceUnavailable, "the node list cannot be read: \(error)")
        }
    }

    private func nodes() async throws -> [Node] {
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let statuses = try await otherNodes() + [heartbeat.status(now: now)]
        return statuses.sorted { $0.id < $1.id }.map { status in
            Node(
                id: status.id, address: status.address, connections: status.connections, rooms: status.rooms,
                uptimeSeconds: Double(status.lastSeen - status.startedAt) / 1_000, version: status.version, lastSeen: status.lastSeen
            )
        }
    }
}
