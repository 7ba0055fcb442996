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
    /// A message as WebSocket clients receive it.
    struct MessageJSON: Encodable {
        let chatroom: RoomID
        let user: UserName
        let message: String
        let timestamp: Int64
        let seq: Int64
    }
    struct SearchResults: ResponseEncodable {
        let messages: [MessageJSON]
        /// The offset of the next page; absent on the last page.
        let nextOffset: Int?

        enum CodingKeys: String, CodingKey {
            case messages
            case nextOffset = "next_offset"
        }
    }

    /// Search pages: at most this many messages each, and no deeper than this offset (the
    /// chat log's result window).
    static let searchPageLimit = 100
    static let searchMaximumOffset = 10_000

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
        router.get("/v1/chatrooms/:id/messages") { request, context in
            try await search(request, room: try RoomID(parsing: context.parameters.get("id") ?? ""))
        }
    }

    /// `GET /v1/chatrooms/{id}/messages?q=words&limit=20&offset=0`: messages of the room that
    /// contain every word, newest first.
    private func search(_ request: Request, room: RoomID) async throws -> SearchResults {
        let parameters = request.uri.queryParameters
        guard let query = parameters.get("q"), !query.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw APIError(.badRequest, "give the words to search for: ?q=words")
        }
        let limit = try integer(parameters.get("limit"), name: "limit", default: 20, range: 1...Self.searchPageLimit)
        let offset = try integer(parameters.get("offset"), name: "offset", default: 0, range: 0...Self.searchMaximumOffset)
        // One more than asked tells whether a next page exists.
        let found = try await service.search(in: room, matching: query, limit: limit + 1, offset: offset)
        return SearchResults(
            messages: found.prefix(limit).map {
                MessageJSON(chatroom: $0.room, user: $0.user, message: $0.text, timestamp: $0.timestamp, seq: $0.seq)
            },
            nextOffset: found.count > limit ? offset + limit : nil
        )
    }

    private func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError(.badRequest, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    private func createUser(_ request: Request) async throws -> UserCreated {
        let body = try await request.body.collect(upTo: maximumBodyBytes)
        let name = try JSONRequestBody.decode(CreateUser.self, from: body, example: #"{"name": "John"}"#).name
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
