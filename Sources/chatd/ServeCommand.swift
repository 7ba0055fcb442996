import ArgumentParser
import ChatCore
import ChatStorage
import ChatTransport
import Foundation
import Logging
import ServiceLifecycle

/// `chatd serve` (the default): runs the API and the WebSocket rooms until SIGINT or SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the chat server (the default).")

    @Option(help: "Address to listen on (env CHATD_HOST).")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (env CHATD_PORT).")
    var port: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env CHATD_LOG_LEVEL).")
    var logLevel: String?

    @OptionGroup var backends: BackendOptions
    @OptionGroup(title: "Message pipeline") var pipeline: PipelineOptions

    @OptionGroup(title: "WebSocket transport") var transport: TransportOptions

    @OptionGroup(title: "TLS on the listener") var listenerTLS: ListenerTLSOptions

    @OptionGroup(title: "Authentication") var authentication: AuthOptions

    @OptionGroup(title: "Cross-site defences and abuse limits") var limits: LimitOptions

    @OptionGroup(title: "Operations: metrics, health, admin API, logs") var operations: AdminOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let logger = try Logging.bootstrap(level: logLevel ?? environment["CHATD_LOG_LEVEL"], format: operations.format(environment: environment))
        let host = host ?? environment["CHATD_HOST"] ?? "0.0.0.0"
        let port = try port ?? environment["CHATD_PORT"].map(Self.parsePort) ?? 8080
        guard (0...65535).contains(port) else {
            throw ValidationError("port must be 0 to 65535")
        }
        var configuration = ChatServerConfiguration(host: host, port: port)
        try transport.apply(to: &configuration)  // every flag is checked before any backend is contacted
        try listenerTLS.apply(to: &configuration, environment: environment)
        try authentication.apply(to: &configuration, environment: environment)
        let makeAuthenticator = try await authentication.authenticatorFactory(
            mode: configuration.access.mode, environment: environment, logger: logger
        )
        var selection = try backends.selection(environment: environment)
        try limits.apply(to: &configuration, backends: &selection)
        try pipeline.apply(to: &selection, environment: environment)
        let adminSettings = try operations.settings(token: configuration.access.adminToken, environment: environment)
        let drainDelay = try operations.drain
        let serverID = ServerID.random()
        let registry = ChatdMetrics.bootstrap()  // before the backends, which make their metrics when made
        let connected = try await selection.connect(server: serverID, logger: logger)
        let backends = connected.ports
        let service = ChatService(backends: backends, server: serverID, logger: logger)
        let authenticator = makeAuthenticator(backends.credentials)
        AuthOptions.warnIfOpen(configuration, logger: logger)
        let metrics = ChatdMetrics(registry: registry, chatLogFigures: connected.chatLogFigures)
        let readiness = Readiness(probes: connected.probes)
        let server = ChatServer(service: service, authenticator: authenticator, configuration: configuration, logger: logger, readiness: readiness)
        let admin = AdminServer(
            settings: adminSettings, server: server, service: service, cluster: backends.cluster, exposition: { await metrics.exposition() },
            logger: logger
        )
        logger.info("chatd starting", metadata: ["server": "\(service.server)", "backends": "\(selection.summary)", "auth": "\(configuration.access.mode.rawValue)"])
        let announce = Task {
            let bound = await server.listeningPort()
            guard bound > 0 else { return }  // never listened: chatd stops, saying why
            let speaks = configuration.tls == nil ? "HTTP API, WebSocket join" : "HTTPS API, WebSocket join over wss; TLS only"
            logger.info("chatd listening on \(host):\(bound) (\(speaks), browser client at /)")
        }
        let announceAdmin = Task {
            let bound = await admin.listeningPort()
            guard bound > 0 else { return }
            logger.info("admin listener on \(adminSettings.host):\(bound) (/metrics, /healthz, /readyz, /v1/admin/)")
        }
        defer {
            announce.cancel()
            announceAdmin.cancel()
        }
        // Services stop in reverse order: the drain first (/readyz says draining for
        // --drain-delay), then the server (no more posts), the admin listener, then the backends
        // (the chat log drained, presence released, pools closed).
        let services: [any Service] = [
            BackendLifecycleService(lifecycle: connected.lifecycle), admin, server, DrainService(readiness: readiness, delay: drainDelay),
        ]
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        logger.info("chatd stopped")
    }

    private static func parsePort(_ text: String) throws -> Int {
        guard let port = Int(text) else { throw ValidationError("CHATD_PORT must be a number, got '\(text)'") }
        return port
    }
}
