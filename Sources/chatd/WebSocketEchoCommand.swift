import ArgumentParser
import ChatTransport
import Logging
import ServiceLifecycle

/// `chatd websocket-echo`: the transport's conformance endpoint (off unless run), which echoes
/// every message, for Autobahn|Testsuite and other WebSocket test clients.
struct WebSocketEchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "websocket-echo",
        abstract: "Run a WebSocket echo endpoint built from chatd's transport (for conformance testing)."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port = 9001

    @Flag(help: "Refuse permessage-deflate offers.")
    var noDeflate = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func run() async throws {
        let logger = try Logging.bootstrap(level: logLevel)
        let server = WebSocketEchoServer(host: host, port: port, deflate: noDeflate ? nil : .init(), logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
