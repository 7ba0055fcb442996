import NIOCore
import NIOHTTP1
import NIOWebSocket

/// NIO's WebSocket upgrader for the handshake (`Sec-WebSocket-Key`, the version, the accept
/// header), without NIO's frame encoder and decoder handlers in the upgraded pipeline: the
/// ``WebSocketProtocolHandler`` that `upgradePipelineHandler` adds reads and writes the frames
/// itself (``WebSocketFrameWire``).
struct WebSocketUpgrader<UpgradeResult: Sendable>: NIOTypedHTTPServerProtocolUpgrader {
    private let handshake: NIOTypedWebSocketServerUpgrader<UpgradeResult>
    private let upgradePipelineHandler: @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<UpgradeResult>

    /// `shouldUpgrade` answers the extra response headers, or nil to refuse; after the 101,
    /// `upgradePipelineHandler` adds the socket's handlers.
    init(
        shouldUpgrade: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?>,
        upgradePipelineHandler: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<UpgradeResult>
    ) {
        self.upgradePipelineHandler = upgradePipelineHandler
        self.handshake = NIOTypedWebSocketServerUpgrader(
            enableAutomaticErrorHandling: false,
            shouldUpgrade: shouldUpgrade,
            // Never called: `upgrade` below builds the pipeline.
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState) }
        )
    }

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        upgradePipelineHandler(channel, upgradeRequest)
    }
}
