import ChatCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The seed's REST API (DESIGN.md, "The seed API"), on a Hummingbird router.
struct ChatAPI {
    let service: ChatService
    let maximumBodyBytes: Int

    struct RoomCreated: ResponseEncodable { let id: RoomID }
    struct RoomList: ResponseEncodable { let ids: [RoomID] }
    struct RoomUsers: ResponseEncodable { let users: [UserName] }
    struct UserCreated: ResponseEncodable { let name: UserName }
    struct Done: ResponseEncodable {}
    struct CreateUser: Decodable { let name: String }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/") { _, _ in BrowserClient.response }
        router.post("/v1/chatrooms") { _, _ in RoomCreated(id: try await service.createRoom()) }
        router.get("/v1/chatrooms") { _, _ in RoomList(ids: try await service.rooms()) }
        router.get("/v1/chatrooms/:id/users") { _, context in
            let room = try RoomID(parsing: context.parameters.get("id") ?? "")
            return RoomUsers(users: try await service.users(in: room))
        }
        router.post("/v1/users") { request, _ in try await createUser(request) }
        router.post("/v1/chatrooms/users") { request, _ in try await createUser(request) }
        router.delete("/v1/users") { _, _ in
            try await service.deleteAllUsers()
            return Done()
        }
        router.get("/v1/chatrooms/:id/join") { request, _ in try await explainRefusedJoin(request) }
    }

    private func createUser(_ request: Request) async throws -> UserCreated {
        let body = try await request.body.collect(upTo: maximumBodyBytes)
        let name: String
        do {
            name = try JSONDecoder().decode(CreateUser.self, from: Data(body.readableBytesView)).name
        } catch {
            throw APIError(.badRequest, #"request body must be a JSON object like {"name": "John"}"#)
        }
        return UserCreated(name: try await service.createUser(named: name))
    }

    /// A join reaches the router only when the WebSocket upgrade was not made: say why.
    private func explainRefusedJoin(_ request: Request) async throws -> Response {
        guard let join = JoinRequest(uri: request.uri.description) else {
            throw APIError(.notFound, "no such endpoint")
        }
        _ = try await service.admit(user: join.user, to: try join.room())
        if request.headers[.upgrade] == nil {
            throw APIError(
                .upgradeRequired, "this endpoint is a WebSocket: connect with a WebSocket client",
                headers: [.upgrade: "websocket", .connection: "Upgrade"]
            )
        }
        throw APIError(
            .badRequest,
            "invalid WebSocket handshake: open a new connection with Upgrade: websocket, Sec-WebSocket-Key and Sec-WebSocket-Version: 13"
        )
    }
}
