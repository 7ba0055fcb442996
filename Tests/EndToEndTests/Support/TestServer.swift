import AsyncHTTPClient
import ChatAuth
import ChatCore
import ChatTransport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import Prometheus
import ServiceLifecycle
import Synchronization

/// A real chatd server on 127.0.0.1 with a free port and in-memory backends, for one test.
///
/// It runs with the configuration's auth mode (tokens by default, as chatd). The tokens of the
/// users a test creates through ``createUser(_:)`` are remembered, so ``joinURL(room:user:)``
/// carries the user's `access_token` and ``createRoom()`` a bearer token.
struct TestServer {
    /// The admin token every test server is given (unless the configuration names one).
    static let defaultAdminToken = "test-admin-token-0123456789abcdef"

    let port: Int
    let service: ChatService
    /// The transport's metrics, in a registry of this server's own (read them as
    /// ChatTestServices' TransportMetricsReading.swift does).
    let counters: TransportCounters
    let http: HTTPClient
    let access: AccessSettings
    let shutdown: @Sendable () async -> Void
    private let tokens = Tokens()

    final class Tokens: Sendable {
        let byUser = Mutex<[String: String]>([:])
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The token `createUser` got for `user`, if any.
    func token(of user: String) -> String? { tokens.byUser.withLock { $0[user] } }

    /// Remembers `token` as `user`'s (one a test got by logging in, say).
    func remember(_ token: String, of user: String) { tokens.byUser.withLock { $0[user] = token } }

    /// The join path of `user`, with their token when the server needs one.
    func joinPath(room: RoomID, user: String) -> String {
        let encoded = user.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? user
        var path = "/v1/chatrooms/\(room)/join?user=\(encoded)"
        if let token = token(of: user) { path += "&access_token=\(token)" }
        return path
    }

    func joinURL(room: RoomID, user: String) -> String {
        "ws://127.0.0.1:\(port)" + joinPath(room: room, user: user)
    }

    /// The token of any user this test created.
    func anyToken() -> String? { tokens.byUser.withLock { $0.values.first } }

    /// A response body as text.
    func text(_ path: String) async throws -> String {
        let response = try await http.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    /// `Authorization: Bearer` for `user`'s token, or nothing.
    func bearer(_ user: String?) -> [(String, String)] {
        guard let user, let token = token(of: user) else { return [] }
        return [("Authorization", "Bearer \(token)")]
    }

    /// Runs `body` against a fresh server, then shuts the server down gracefully.
    /// `auth` overrides the configuration's mode (`.none`: the seed's open API);
    /// `authenticator` replaces the token authenticator (for JWT).
    static func with<T>(
        configuration: ChatServerConfiguration = .init(),
        auth: AccessSettings.Mode? = nil,
        authenticator: (any Authenticator)? = nil,
        backends: ChatBackends = .inMemory(),
        service serviceConfiguration: ChatService.Configuration = .init(),
        server serverID: ServerID = .random(),
        _ body: (TestServer) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "test.chatd")
        logger.logLevel = .warning
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        if let auth { configuration.access.mode = auth }
        if configuration.access.adminToken == nil { configuration.access.adminToken = defaultAdminToken }
        configuration.adaptedToTestClients()
        let service = ChatService(backends: backends, configuration: serviceConfiguration, server: serverID, logger: logger)
        let authenticator = authenticator ?? TokenAuthenticator(credentials: backends.credentials, bcryptCost: 4, logger: logger)
        let server = ChatServer(
            service: service, authenticator: configuration.access.mode == .open ? nil : authenticator,
            configuration: configuration, logger: logger, metrics: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
        )
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        let running = Task { try await group.run() }
        let port = await server.listeningPort()
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let testServer = TestServer(port: port, service: service, counters: server.counters, http: http, access: configuration.access) {
            await group.triggerGracefulShutdown()
            _ = await running.result
        }
        do {
            let result = try await body(testServer)
            try await http.shutdown()
            await testServer.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            await testServer.shutdown()
            throw error
        }
    }

    /// An HTTP exchange: status and the body parsed as JSON (nil when it is not JSON).
    struct Reply {
        let status: Int
        let json: [String: Any]?
        let headers: [String: String]

        var message: String? { json?["message"] as? String }
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            // The API takes JSON bodies only (415 otherwise); a test that means otherwise says so.
            if !request.headers.contains(name: "Content-Type") { request.headers.add(name: "Content-Type", value: "application/json") }
        }
        let response = try await http.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let json = try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any]
        var replyHeaders: [String: String] = [:]
        for header in response.headers { replyHeaders[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), json: json, headers: replyHeaders)
    }

    /// Creates a room as `user` (default: any user this test created, or a room maker of its own).
    func createRoom(as user: String? = nil) async throws -> RoomID {
        var headers: [(String, String)] = []
        if access.mode != .open {
            var maker = user ?? tokens.byUser.withLock { $0.keys.sorted().first }
            if maker == nil {
                maker = "room-maker-\(UInt32.random(in: 0...UInt32.max))"
                try await createUser(maker!)
            }
            headers = bearer(maker)
        }
        let reply = try await request(.POST, "/v1/chatrooms", headers: headers)
        guard reply.status == 200, let id = reply.json?["id"] as? Int else { throw TestFailure("create room: \(reply.status) \(reply.message ?? "")") }
        return RoomID(Int64(id))
    }

    /// Creates `name` and remembers its token (returned; nil with `--auth none` or jwt).
    @discardableResult
    func createUser(_ name: String, password: String? = nil) async throws -> String? {
        var fields = ["name": name]
        if let password { fields["password"] = password }
        let body = String(decoding: try JSONEncoder().encode(fields), as: UTF8.self)
        let reply = try await request(.POST, "/v1/users", body: body)
        guard reply.status == 200 else { throw TestFailure("create user \(name): \(reply.status) \(reply.message ?? "")") }
        let token = reply.json?["token"] as? String
        if let token { remember(token, of: name) }
        return token
    }

    /// `DELETE /v1/users` with the admin token.
    func deleteAllUsers() async throws -> Reply {
        let reply = try await request(.DELETE, "/v1/users", headers: [("Authorization", "Bearer \(access.adminToken ?? "")")])
        if reply.status == 200 { tokens.byUser.withLock { $0.removeAll() } }
        return reply
    }

    func users(in room: RoomID) async throws -> [String] {
        let reply = try await request(.GET, "/v1/chatrooms/\(room)/users", headers: bearer(tokens.byUser.withLock { $0.keys.first }))
        return reply.json?["users"] as? [String] ?? []
    }

    /// Polls the users list until it equals `expected` (leaving is asynchronous to the close).
    func waitForUsers(in room: RoomID, toBe expected: [String]) async throws {
        var current: [String] = []
        _ = try await eventually("users in room \(room): expected \(expected), still \(current)") {
            current = try await users(in: room)
            return current == expected ? true : nil
        }
    }
}

extension ChatServerConfiguration {
    /// Every test's clients share 127.0.0.1, and swift-websocket's client sends `Origin:
    /// ws://127.0.0.1` (no port, unlike a browser): a test that does not set the per-address
    /// limits or the origins itself gets them out of its way.
    mutating func adaptedToTestClients() {
        let defaults = AbuseLimits()
        if abuseLimits.maximumConnectionsPerAddress == defaults.maximumConnectionsPerAddress {
            abuseLimits.maximumConnectionsPerAddress = 100_000
        }
        if abuseLimits.newConnectionsPerSecondPerAddress == defaults.newConnectionsPerSecondPerAddress {
            abuseLimits.newConnectionsPerSecondPerAddress = 100_000
        }
        if originPolicy == .sameOrigin {
            originPolicy = try! OriginPolicy(allowing: [ChatClient.origin])
        }
    }

    /// The flags that do the same for a spawned chatd.
    static let testClientFlags = [
        "--max-connections-per-address", "100000", "--connection-rate", "100000", "--allowed-origin", ChatClient.origin,
        // Many chatd run at once (tests in parallel, other checkouts): the admin listener's
        // default port 9090 would be taken; a test that reads it finds it in the log.
        "--admin-port", "0",
    ]
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
