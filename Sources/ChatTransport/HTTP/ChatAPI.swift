import ChatCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The seed's REST API (DESIGN.md, "The seed API"), on a Hummingbird router.
struct ChatAPI {
    let service: ChatService
    let maximumBodyBytes: Int
    let access: AccessControl
    /// Proxies whose `X-Forwarded-For` names the client (``AbuseLimits/trustedProxies``).
    var trustedProxies: Set<String> = []

    struct RoomCreated: ResponseEncodable { let id: RoomID }
    struct RoomList: ResponseEncodable { let ids: [RoomID] }
    struct RoomUsers: ResponseEncodable { let users: [UserName] }
    /// `token` only with `--auth token`: the user's first token, shown this once.
    struct UserCreated: ResponseEncodable {
        let name: UserName
        let token: String?
    }
    struct TokenIssued: ResponseEncodable { let token: String }
    struct Done: ResponseEncodable {}
    struct CreateUser: Decodable {
        let name: String
        let password: String?
    }
    struct LogIn: Decodable {
        let name: String
        let password: String
    }
    /// A page of search results: `{"messages":[…],"next_offset":20}`, each message in the form
    /// WebSocket clients receive (written by ``ChatMessageJSON``, the one owner of that JSON).
    struct SearchResults: ResponseGenerator {
        let messages: [ChatMessage]
        /// The offset of the next page; absent on the last page.
        let nextOffset: Int?

        func response(from request: Request, context: some RequestContext) throws -> Response {
            var body = ByteBuffer()
            body.writeStaticString(#"{"messages":["#)
            for (index, message) in messages.enumerated() {
                if index > 0 { body.writeInteger(UInt8(ascii: ",")) }
                ChatMessageJSON.write(message, into: &body)
            }
            body.writeInteger(UInt8(ascii: "]"))
            if let nextOffset { body.writeString(#","next_offset":\#(nextOffset)"#) }
            body.writeInteger(UInt8(ascii: "}"))
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body))
        }
    }

    /// Search pages: at most this many messages each, and no deeper than this offset (the
    /// chat log's result window).
    static let searchPageLimit = 100
    static let searchMaximumOffset = 10_000

    /// Every route of the API, in one list (the router's routes and the 405 table).
    func routes() -> RouteTable<ChatRequestContext> {
        var routes = RouteTable<ChatRequestContext>()
        // The browser client's files are read here, at start, rather than at the first request.
        let page = BrowserClient.page
        routes.add(.get, "/") { request, _ in try BrowserClient.response(page, host: request.head.authority) }
        for asset in BrowserClient.assets {
            routes.add(.get, asset.path) { _, _ in try BrowserClient.response(asset) }
        }
        let apiDocument = APIDocument.json  // read at start-up, not at the first request
        routes.add(.get, "/openapi.json") { _, _ in APIDocument.response(apiDocument) }
        routes.add(.get, "/v1/chatrooms") { request, context in
            try await access.authorizeReading(Self.bearer(request), client: client(request, context))
            return RoomList(ids: try await service.rooms())
        }
        routes.add(.post, "/v1/chatrooms") { request, context in
            let identity = try await access.identityIfRequired(Self.bearer(request), client: client(request, context))
            try access.chargeRoomCreation(identity)
            return RoomCreated(id: try await service.createRoom())
        }
        routes.add(.get, "/v1/chatrooms/:id/users") { request, context in
            let room = try RoomID(parsing: context.parameters.get("id") ?? "")
            try await access.authorizeReading(Self.bearer(request), client: client(request, context))
            return RoomUsers(users: try await service.users(in: room))
        }
        routes.add(.post, "/v1/users", body: .json) { request, _ in try await createUser(request) }
        routes.add(.post, "/v1/chatrooms/users", body: .json) { request, _ in try await createUser(request) }
        routes.add(.delete, "/v1/users") { request, context in
            try access.authorizeAdmin(Self.bearer(request), client: client(request, context))
            try await service.deleteAllUsers()
            return Done()
        }
        routes.add(.post, "/v1/tokens", body: .json) { request, context in try await logIn(request, client: client(request, context)) }
        routes.add(.delete, "/v1/tokens/current") { request, context in
            try await revoke(Self.bearer(request), client: client(request, context))
            return Done()
        }
        routes.add(.get, "/v1/chatrooms/:id/join") { request, context in try await explainRefusedJoin(request, client: client(request, context)) }
        routes.add(.get, "/v1/chatrooms/:id/messages") { request, context in
            let room = try RoomID(parsing: context.parameters.get("id") ?? "")
            try await access.authorizeReading(Self.bearer(request), client: client(request, context))
            return try await search(request, room: room)
        }
        return routes
    }

    /// The address this request's failed credential checks count against.
    private func client(_ request: Request, _ context: ChatRequestContext) -> String {
        ClientAddress.of(request.head, peer: context.remoteAddress, trustedProxies: trustedProxies)
    }

    private static func bearer(_ request: Request) -> String? {
        AccessControl.bearer(request.headers[.authorization])
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
            messages: Array(found.prefix(limit)),
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
        let body = try await decode(CreateUser.self, from: request, example: #"{"name": "John"}"#)
        guard access.settings.mode == .token, let issuer = access.issuer else {
            return UserCreated(name: try await service.createUser(named: body.name), token: nil)
        }
        if let password = body.password { try Password.validate(password) }  // before the user exists
        let name = try await service.createUser(named: body.name)
        return UserCreated(name: name, token: try await issuer.registered(name, password: body.password))
    }

    /// `POST /v1/tokens` `{"name", "password"}`: a new token for another device. A wrong name
    /// or password counts as a failed attempt of the client's address.
    private func logIn(_ request: Request, client: String) async throws -> TokenIssued {
        guard access.settings.mode == .token, let issuer = access.issuer else {
            throw APIError(.notFound, "tokens are issued here only with --auth token")
        }
        let body = try await decode(LogIn.self, from: request, example: #"{"name": "John", "password": "…"}"#)
        return TokenIssued(token: try await access.logIn(body.name, password: body.password, client: client, issuer: issuer))
    }

    /// `DELETE /v1/tokens/current`: the presented token stops working.
    private func revoke(_ token: String?, client: String) async throws {
        guard access.settings.mode == .token, access.issuer != nil else {
            throw APIError(.notFound, "tokens are revoked here only with --auth token")
        }
        try await access.revoke(token, client: client)
    }

    private func decode<Body: Decodable>(_ type: Body.Type, from request: Request, example: String) async throws -> Body {
        try JSONBody.decode(type, from: try await request.body.collect(upTo: maximumBodyBytes), example: example)
    }

    /// A join reaches the router only when the WebSocket upgrade was not made: say why.
    private func explainRefusedJoin(_ request: Request, client: String) async throws -> Response {
        guard let join = JoinRequest(uri: request.uri.description) else {
            throw APIError(.notFound, "no such endpoint")
        }
        _ = try await access.admitJoin(join, authorization: request.headers[.authorization], client: client, service: service)
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
