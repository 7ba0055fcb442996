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
/// - At the first head it has a connection from a trusted proxy counted against the client the
///   proxy names (``ClientAttribution``), and answers 429 for a client over its limits.
/// - At a head that asks for an upgrade it leaves the pipeline (behind an upgrade the bytes are
///   no longer HTTP); the deadline then runs on until the 101 is sent or the connection closes.
final class FirstRequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let head: NIOLoopBoundBox<HTTPRequestHead?>
    private let deadline: RequestDeadline
    private let attribution: ClientAttribution
    private var refused = false

    init(head: NIOLoopBoundBox<HTTPRequestHead?>, deadline: RequestDeadline, attribution: ClientAttribution) {
        self.head = head
        self.deadline = deadline
        self.attribution = attribution
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline.arm()  // from accept
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            deadline.arm()
            if head.value == nil {
                if let refusal = attribution.attribute(requestHead) { return refuse(refusal, context: context) }
                head.value = requestHead
            }
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

    /// Answers the request with `error` itself (it never reaches the router) and closes.
    private func refuse(_ error: APIError, context: ChannelHandlerContext) {
        refused = true
        let body = error.jsonBody
        var headers = HTTPHeaders()
        for field in error.responseHeaders { headers.add(name: field.name.rawName, value: field.value) }
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: Int(error.status.code)), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let loopBound = context.loopBound
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBound.value.close(promise: nil) }
    }
}
