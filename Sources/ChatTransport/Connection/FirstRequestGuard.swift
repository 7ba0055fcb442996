import NIOCore
import NIOHTTP1

/// Watches a connection until its first request head arrives, then leaves the pipeline.
///
/// - It closes a connection that sends no request head in time: Hummingbird's idle timer starts
///   only after the first request, so without this a silent connection would be held forever.
/// - It remembers the head. NIO's upgrade handler consumes the head (and end) of a request that
///   asks for an upgrade it does not make, such as `curl --http2`'s `Upgrade: h2c`; with the head
///   kept here, the channel replays that request to the ordinary HTTP path.
final class FirstRequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let head: NIOLoopBoundBox<HTTPRequestHead?>
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(head: NIOLoopBoundBox<HTTPRequestHead?>, timeout: TimeAmount) {
        self.head = head
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = context.loopBound
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let requestHead) = unwrapInboundIn(data) {
            timer?.cancel()
            head.value = requestHead
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else {
            context.fireChannelRead(data)
        }
    }
}
