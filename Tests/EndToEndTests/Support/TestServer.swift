import AsyncHTTPClient
import ChatCore
import ChatTransport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import ServiceLifecycle

/// A real chatd server on 127.0.0.1 with a free port and in-memory backends, for one test.
struct TestServer {
    let port: Int
    let service: ChatService
    /// The transport's counts of limit closes.
    let counters: TransportCounters
    let http: HTTPClient
    let shutdown: @Sendable () async -> Void

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func joinURL(room: RoomID, user: String) -> String {
        let encoded = user.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? user
        return "ws://127.0.0.1:\(port)/v1/chatrooms/\(room)/join?user=\(encoded)"
    }

    /// Runs `body` against a fresh server, then shuts the server down gracefully.
    static func with<T>(
        configuration: ChatServerConfiguration = .init(),
        backends: ChatBackends = .inMemory(),
        server serverID: ServerID = .random(),
        _ body: (TestServer) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "test.chatd")
        logger.logLevel = .warning
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.adaptedToTestClients()
        let service = ChatService(backends: backends, server: serverID, logger: logger)
        let server = ChatServer(service: service, configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        let running = Task { try await group.run() }
        let port = await server.listeningPort()
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let testServer = TestServer(port: port, service: service, counters: server.counters, http: http) {
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

    func createRoom() async throws -> RoomID {
        let reply = try await request(.POST, "/v1/chatrooms")
        guard reply.status == 200, let id = reply.json?["id"] as? Int else { throw TestFailure("create room: \(reply.status)") }
        return RoomID(Int64(id))
    }

    func createUser(_ name: String) async throws {
        let body = String(decoding: try JSONEncoder().encode(["name": name]), as: UTF8.self)
        let reply = try await request(.POST, "/v1/users", body: body)
        guard reply.status == 200 else { throw TestFailure("create user \(name): \(reply.status) \(reply.message ?? "")") }
    }

    func users(in room: RoomID) async throws -> [String] {
        let reply = try await request(.GET, "/v1/chatrooms/\(room)/users")
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
    ]
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
