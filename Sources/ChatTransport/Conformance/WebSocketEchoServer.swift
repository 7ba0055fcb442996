import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import ServiceLifecycle

/// A WebSocket echo endpoint built from the chat transport's own protocol code (framing,
/// reassembly, permessage-deflate, limits, close handshake), for conformance suites such as
/// Autobahn|Testsuite. Every path upgrades; every message comes back as it was sent.
///
/// Off by default: `chatd websocket-echo` runs it on a port of its own.
public final class WebSocketEchoServer: Service {
    /// Autobahn's largest cases send 16 MiB messages, some in 64-byte fragments.
    public static let conformanceLimits = (maximumMessageBytes: 32 * 1024 * 1024, maximumFragments: 1 << 20)

    private let host: String
    private let port: Int
    private let deflate: PerMessageDeflateSettings?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let address = ListeningAddress()

    public init(
        host: String = "127.0.0.1",
        port: Int,
        deflate: PerMessageDeflateSettings? = PerMessageDeflateSettings(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "websocket-echo")
    ) {
        self.host = host
        self.port = port
        self.deflate = deflate
        self.group = eventLoopGroup
        self.logger = logger
    }

    /// The port the server listens on, once it does (useful with port 0).
    public func listeningPort() async -> Int {
        await address.port()
    }

    public func run() async throws {
        let counters = TransportCounters()
        let compressors = deflate.map { FrameCompressors(settings: $0, metrics: counters.factory) }
        let logger = logger
        let limits = WebSocketLimits(
            maximumMessageBytes: Self.conformanceLimits.maximumMessageBytes,
            maximumFragments: Self.conformanceLimits.maximumFragments,
            maximumPendingMessages: 32,
            closeTimeout: .seconds(5),
            pingInterval: nil,
            idleTimeout: .seconds(60),
            maximumMessagesPerSecond: nil
        )
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel, limits: limits, compressors: compressors, counters: counters, logger: logger)
                }
            }
            .bind(host: host, port: port)
            .get()
        address.bound(port: channel.localAddress?.port ?? port)
        logger.info("WebSocket echo endpoint listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        try? await gracefulShutdown()
        try await channel.close()
    }

    static func configure(
        _ channel: any Channel,
        limits: WebSocketLimits,
        compressors: FrameCompressors?,
        counters: TransportCounters,
        logger: Logger
    ) throws {
        let negotiate: @Sendable (HTTPRequestHead) -> NegotiatedDeflate? = { head in
            compressors.flatMap { compressors in
                NegotiatedDeflate.negotiate(
                    offers: WebSocketExtensionOffer.parse(headerValues: head.headers[canonicalForm: "Sec-WebSocket-Extensions"].map(String.init)),
                    settings: compressors.settings
                )
            }
        }
        // The same upgrader and socket handler as the chat's joins, so Autobahn tests what chatd runs.
        let upgrader = WebSocketUpgrader<Void>(
            shouldUpgrade: { channel, head in
                var headers = HTTPHeaders()
                if let negotiated = negotiate(head) { headers.add(name: "Sec-WebSocket-Extensions", value: negotiated.responseHeaderValue) }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let peer = EchoPeer()
                    let socket = WebSocketProtocolHandler(
                        limits: limits,
                        deflate: negotiate(head),
                        compressors: compressors,
                        counters: counters,
                        logger: logger,
                        onMessage: { message in
                            peer.socket?.send(message)
                            peer.socket?.messageHandled()
                        },
                        onClosed: {}
                    )
                    peer.socket = socket
                    try channel.pipeline.syncOperations.addHandler(socket)
                }
            }
        )
        _ = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
            configuration: .init(
                upgradeConfiguration: .init(
                    upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in channel.close() }
                )
            )
        )
    }
}

/// Lets the echo callback reach its socket handler without a retain cycle.
private final class EchoPeer {
    weak var socket: WebSocketProtocolHandler?
}
