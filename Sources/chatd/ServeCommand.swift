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

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let logger = try Logging.bootstrap(level: logLevel ?? environment["CHATD_LOG_LEVEL"])
        let host = host ?? environment["CHATD_HOST"] ?? "0.0.0.0"
        let port = try port ?? environment["CHATD_PORT"].map(Self.parsePort) ?? 8080
        guard (0...65535).contains(port) else {
            throw ValidationError("port must be 0 to 65535")
        }
        let selection = try backends.selection(environment: environment)
        let service = ChatService(backends: try await selection.makeBackends(), logger: logger)
        let server = ChatServer(service: service, configuration: .init(host: host, port: port), logger: logger)
        logger.info("chatd starting", metadata: ["server": "\(service.server)", "backends": "\(selection.summary)"])
        let announce = Task {
            let bound = await server.listeningPort()
            logger.info("chatd listening on \(host):\(bound) (HTTP API, WebSocket join, browser client at /)")
        }
        defer { announce.cancel() }
        let group = ServiceGroup(
            configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        logger.info("chatd stopped")
    }

    private static func parsePort(_ text: String) throws -> Int {
        guard let port = Int(text) else { throw ValidationError("CHATD_PORT must be a number, got '\(text)'") }
        return port
    }
}
