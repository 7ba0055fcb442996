import Logging
import NIOCore
import NIOTLS

/// Logs why a TLS handshake failed (plain HTTP to the TLS port, an untrusted client, a scan)
/// at debug, then leaves the pipeline once a handshake completes. NIOSSL closes the
/// connection itself; without this, only a generic "connection ended" would be logged.
final class TLSHandshakeLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug(
            "TLS handshake failed; connection closed",
            metadata: ["error": "\(error)", "peer": "\(context.remoteAddress.map { "\($0)" } ?? "unknown")"]
        )
        context.fireErrorCaught(error)
    }
}
