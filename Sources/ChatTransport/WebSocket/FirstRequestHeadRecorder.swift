import NIOCore
import NIOHTTP1

/// Remembers a connection's first request head, then leaves the pipeline.
///
/// NIO's upgrade handler consumes the head (and end) of a request that asks for an upgrade it
/// does not make, such as `curl --http2`'s `Upgrade: h2c`. With the head kept here, the channel
/// replays that request to the ordinary HTTP path, which serves it as if the header were absent.
final class FirstRequestHeadRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let head: NIOLoopBoundBox<HTTPRequestHead?>

    init(head: NIOLoopBoundBox<HTTPRequestHead?>) {
        self.head = head
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let requestHead) = unwrapInboundIn(data) {
            head.value = requestHead
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else {
            context.fireChannelRead(data)
        }
    }
}
