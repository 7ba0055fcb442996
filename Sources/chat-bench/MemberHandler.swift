import NIOCore
import NIOWebSocket

/// One member's end of a WebSocket after the upgrade: counts and times every message it
/// receives, answers pings and the close handshake, and, for a publisher, sends text frames
/// at a set rate. Lives on its channel's event loop only.
final class MemberHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let stats: LoopStats
    private let room: Int
    private var context: ChannelHandlerContext?
    private var lastSeq: UInt64?
    private var closing = false

    // Publisher state.
    private var publisherID = 0
    private var sent: UInt64 = 0
    private var nextSend = NIODeadline.now()
    private var interval = TimeAmount.seconds(1)
    private var stopAt = NIODeadline.now()

    init(stats: LoopStats, room: Int) {
        self.stats = stats
        self.room = room
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            received(frame.data)
        case .ping:
            send(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.data), context: context)
            context.flush()
        case .connectionClose:
            if !closing {
                closing = true
                var reply = context.channel.allocator.buffer(capacity: 2)
                reply.write(webSocketErrorCode: .normalClosure)
                send(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: reply), context: context)
            }
            context.flush()
            context.close(promise: nil)
        default:
            break
        }
    }

    private func received(_ data: ByteBuffer) {
        let now = NIODeadline.now().uptimeNanoseconds
        guard let fields = data.withUnsafeReadableBytes({ MessageScanner.scan($0) }) else {
            stats.unparsed += 1
            return
        }
        stats.received += 1
        stats.lastReceivedAt = now
        if let lastSeq, fields.seq <= lastSeq { stats.outOfOrder += 1 } else { lastSeq = fields.seq }
        let micros = now > fields.sentAt ? (now - fields.sentAt) / 1_000 : 0
        _ = stats.latency.record(max(micros, 1))
    }

    private func send(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(frame), promise: nil)
    }

    // MARK: publishing

    /// Sends `rate` messages a second until `stopAt`, each "t=<now ns> p=<id> n=<count>".
    func startPublishing(id: Int, rate: Double, stopAt: NIODeadline) {
        guard rate > 0 else { return }
        publisherID = id
        interval = .nanoseconds(Int64(1e9 / rate))
        self.stopAt = stopAt
        nextSend = .now()
        tick()
    }

    private func tick() {
        guard let context, !closing else { return }
        let now = NIODeadline.now()
        // Catch up on every message due, so the rate holds however late the tick runs.
        while nextSend <= now, nextSend < stopAt {
            sent += 1
            let text = "t=\(NIODeadline.now().uptimeNanoseconds) p=\(publisherID) n=\(sent)"
            send(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: context.channel.allocator.buffer(string: text)), context: context)
            stats.published[room, default: 0] += 1
            nextSend = nextSend + interval
        }
        context.flush()
        guard nextSend < stopAt else { return }
        context.eventLoop.assumeIsolated().scheduleTask(deadline: nextSend) { self.tick() }
    }

    // MARK: closing

    /// Starts the close handshake; the channel closes when the server answers (or after `timeout`).
    func close(timeout: TimeAmount) {
        guard let context, !closing else { return }
        closing = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: .normalClosure)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)), promise: nil)
        let channel = context.channel
        context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
