import NIOCore
import NIOHTTP1
import NIOWebSocket

/// NIO's WebSocket upgrader for the handshake (`Sec-WebSocket-Key`, the version, the accept
/// header), with the project's ``WebSocketFrameCodec`` in the upgraded pipeline instead of
/// NIO's encoder and decoder handlers.
struct WebSocketUpgrader<UpgradeResult: Sendable>: NIOTypedHTTPServerProtocolUpgrader {
    private let handshake: NIOTypedWebSocketServerUpgrader<UpgradeResult>
    private let maximumFrameBytes: Int
    private let upgradePipelineHandler: @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<UpgradeResult>

    /// `shouldUpgrade` answers the extra response headers, or nil to refuse; after the 101,
    /// `upgradePipelineHandler` adds the handlers behind the codec.
    init(
        maximumFrameBytes: Int,
        shouldUpgrade: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?>,
        upgradePipelineHandler: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<UpgradeResult>
    ) {
        self.maximumFrameBytes = maximumFrameBytes
        self.upgradePipelineHandler = upgradePipelineHandler
        self.handshake = NIOTypedWebSocketServerUpgrader(
            maxFrameSize: maximumFrameBytes,
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
        let maximumFrameBytes = maximumFrameBytes
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(WebSocketFrameCodec(maximumFrameBytes: maximumFrameBytes))
        }.flatMap { [upgradePipelineHandler] in
            upgradePipelineHandler(channel, upgradeRequest)
        }
    }
}
