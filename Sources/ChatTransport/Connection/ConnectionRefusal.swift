import NIOCore

/// Answers a connection the server will not serve (a connection limit) with one HTTP error
/// before reading any request, then closes it.
///
/// The output is closed first and the rest is dropped after a short linger: closing a socket
/// with unread request bytes makes the kernel send a reset, which can destroy the answer
/// before the client reads it.
final class ConnectionRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let error: APIError
    private let linger: TimeAmount
    private var answered = false

    init(_ error: APIError, linger: TimeAmount = .seconds(2)) {
        self.error = error
        self.linger = linger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}  // the request is not served

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let body = error.jsonBody
        var text = "HTTP/1.1 \(error.status.code) \(error.status.reasonPhrase)\r\n"
        for field in error.responseHeaders { text += "\(field.name.rawName): \(field.value)\r\n" }
        text += "Content-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n"
        var bytes = context.channel.allocator.buffer(capacity: text.utf8.count + body.readableBytes)
        bytes.writeString(text)
        bytes.writeImmutableBuffer(body)
        let loopBound = context.loopBound
        context.writeAndFlush(NIOAny(bytes)).whenComplete { _ in
            loopBound.value.close(mode: .output, promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: linger) { loopBound.value.close(promise: nil) }
    }
}
