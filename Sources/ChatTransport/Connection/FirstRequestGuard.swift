import NIOCore
import NIOHTTP1

/// Watches a connection's HTTP requests for the ``RequestDeadline`` (arm at a head, disarm
/// at its end) and remembers the first head.
///
/// - Hummingbird's idle timer starts only after the first request, and nothing bounds the time
///   to a request's end; the deadline bounds both (slowloris).
/// - It remembers the first head. NIO's upgrade handler consumes the head (and end) of a request
///   that asks for an upgrade it does not make, such as `curl --http2`'s `Upgrade: h2c`; with the
///   head kept here, the channel replays that request to the ordinary HTTP path.
/// - At a head that asks for an upgrade it leaves the pipeline (behind an upgrade the bytes are
///   no longer HTTP); the deadline then runs on until the 101 is sent or the connection closes.
final class FirstRequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let head: NIOLoopBoundBox<HTTPRequestHead?>
    private let deadline: RequestDeadline

    init(head: NIOLoopBoundBox<HTTPRequestHead?>, deadline: RequestDeadline) {
        self.head = head
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline.arm()  // from accept
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            deadline.arm()
            if head.value == nil { head.value = requestHead }
            context.fireChannelRead(data)
            if requestHead.headers.contains(name: "upgrade") {
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
        case .body:
            context.fireChannelRead(data)
        case .end:
            deadline.disarm()
            context.fireChannelRead(data)
        }
    }
}
