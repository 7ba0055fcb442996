import AsyncHTTPClient
import ChatCore
import ChatStorage
import ChatTestServices
import ChatTransport
import Foundation
import Logging
import NIOHTTP1
import Prometheus
import ServiceLifecycle

/// One in-process chatd as ServeCommand wires it: the chat server, the admin listener and the
/// drain, in one ServiceGroup, on backends a test chose, with metrics in a registry of its own.
/// Open auth (`user=` joins); the admin API takes ``adminToken`` unless told otherwise.
final class AdminTestNode: Sendable {
    static let adminToken = "admin-test-token-0123456789abcdef"

    let port: Int
    let adminPort: Int
    let server: ChatServer
    let service: ChatService
    let registry: PrometheusCollectorRegistry
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    private let lifecycle: BackendLifecycle

    /// `backends` as built for this node (`.inMemory()`, or connected to Redis); `probes` for
    /// `/readyz`. `token: nil` starts the admin API disabled.
    static func start(
        backends: ChatBackends, server serverID: ServerID = .random(), probes: [String: Readiness.Probe] = [:],
        lifecycle: BackendLifecycle = .none, token: String? = adminToken, drainDelay: Duration = .zero
    ) async -> AdminTestNode {
        var logger = Logger(label: "test.chatd")
        logger.logLevel = .warning
        var configuration = ChatServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.access.mode = .open
        configuration.adaptedToTestClients()
        let registry = PrometheusCollectorRegistry()
        let service = ChatService(backends: backends, server: serverID, logger: logger)
        let readiness = Readiness(probes: probes, deadline: .milliseconds(500), cacheFor: .milliseconds(100))
        let server = ChatServer(
            service: service, configuration: configuration, logger: logger, metrics: PrometheusMetricsFactory(registry: registry),
            readiness: readiness
        )
        let admin = AdminServer(
            settings: AdminSettings(port: 0, token: token, heartbeatInterval: .milliseconds(200), version: "test"),
            server: server, service: service, cluster: backends.cluster, exposition: { registry.emitToString() }, logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(services: [admin, server, DrainService(readiness: readiness, delay: drainDelay)], logger: logger)
        )
        let running = Task { try await group.run() }
        return AdminTestNode(
            port: await server.listeningPort(), adminPort: await admin.listeningPort(), server: server, service: service,
            registry: registry, group: group, running: running, lifecycle: lifecycle
        )
    }

    private init(
        port: Int, adminPort: Int, server: ChatServer, service: ChatService, registry: PrometheusCollectorRegistry, group: ServiceGroup,
        running: Task<Void, any Error>, lifecycle: BackendLifecycle
    ) {
        self.port = port
        self.adminPort = adminPort
        self.server = server
        self.service = service
        self.registry = registry
        self.group = group
        self.running = running
        self.lifecycle = lifecycle
    }

    /// The metrics as `GET /metrics` of this node's admin listener answers them.
    func scrape() async throws -> MetricsText {
        MetricsText(try await AdminHTTP.text(port: adminPort, "/metrics"))
    }

    /// Starts the graceful shutdown (as SIGTERM does) without waiting for it.
    func beginShutdown() async { await group.triggerGracefulShutdown() }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await running.result
        await lifecycle.stop(within: .seconds(2))
    }

    /// Creates a user (open auth: no token).
    func createUser(_ name: String) async throws {
        let reply = try await LoopbackHTTP.request(.POST, port: port, "/v1/users", body: #"{"name": "\#(name)"}"#)
        guard reply.status == 200 else { throw TestFailure("create user \(name): \(reply.status)") }
    }

    func createRoom() async throws -> Int {
        let reply = try await LoopbackHTTP.request(.POST, port: port, "/v1/chatrooms", body: "")
        guard reply.status == 200, let id = reply.json?["id"] as? Int else { throw TestFailure("create room: \(reply.status)") }
        return id
    }

    func joinURL(room: Int, user: String) -> String {
        "ws://127.0.0.1:\(port)/v1/chatrooms/\(room)/join?user=\(user.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? user)"
    }
}

/// Requests to an admin listener, with the admin token unless told otherwise.
enum AdminHTTP {
    static func request(
        _ method: HTTPMethod, port: Int, _ path: String, body: String? = nil, token: String? = AdminTestNode.adminToken
    ) async throws -> LoopbackHTTP.Reply {
        try await LoopbackHTTP.request(method, port: port, path, body: body, token: token)
    }

    static func text(port: Int, _ path: String) async throws -> String {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 1 << 22))
    }
}
