import NIOCore
import NIOWebSocket

/// One member's end of a WebSocket after the upgrade: reads the server's frames off the
/// socket (``ServerFrameReader``), counts and times every message it receives, inflates
/// compressed ones, answers pings and the close handshake, and, for a publisher, sends text
/// frames at a set rate. Lives on its channel's event loop only.
final class MemberHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What a joining member waits for in a join storm: the message with this `seq` (the last
    /// of the room's history), timed from `startedAt` (monotonic ns, before the TCP connect).
    struct HistoryWatch {
        var startedAt: UInt64
        var lastSeq: UInt64
    }

    /// A member that times its own join (`rooms`): it posts a probe once joined and times the
    /// echo from `startedAt` (monotonic ns, before the TCP connect).
    struct JoinProbe {
        var startedAt: UInt64
        /// The first member of its room on its server: its join makes the server subscribe.
        var firstOnServer: Bool
    }

    private let stats: LoopStats
    private let room: Int
    private var joinProbe: JoinProbe?
    /// Whether the server agreed to permessage-deflate, so RSV1 frames are compressed.
    private let inflates: Bool
    private var historyWatch: HistoryWatch?
    private var context: ChannelHandlerContext?
    private var closing = false
    private var reader = ServerFrameReader(maximumPayload: 1 << 20)
    /// A fragmented message being put together, and whether its first frame was compressed.
    private var fragments: ByteBuffer?
    private var fragmentsCompressed = false

    /// The last room `seq` this member saw, and how many messages of the run it received.
    private(set) var lastSeq: UInt64?
    private(set) var receivedCount: UInt64 = 0
    /// Whether this member's join probe came back (``JoinProbe``).
    private(set) var probeEchoed = false

    // Publisher state.
    private var publisherID = 0
    private var sent: UInt64 = 0
    private var limit = UInt64.max
    private var nextSend = NIODeadline.now()
    private var interval = TimeAmount.seconds(1)
    private var stopAt = NIODeadline.now()
    private var text = MessageText(bytes: 0)

    init(stats: LoopStats, room: Int, inflates: Bool, historyWatch: HistoryWatch?, joinProbe: JoinProbe? = nil) {
        self.stats = stats
        self.room = room
        self.joinProbe = joinProbe
        self.inflates = inflates
        self.historyWatch = historyWatch
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.read(unwrapInboundIn(data)) { frame in self.handle(frame, context: context) }
        } catch {
            stats.figures.socketErrors += 1
            context.close(promise: nil)
        }
    }

    private func handle(_ frame: ServerFrameReader.Frame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case ServerFrameReader.text where frame.fin:
            message(frame.payload, compressed: frame.rsv1)
        case ServerFrameReader.text:
            fragments = frame.payload
            fragmentsCompressed = frame.rsv1
        case ServerFrameReader.continuation:
            guard var assembled = fragments else {
                stats.figures.unparsed += 1
                return
            }
            var more = frame.payload
            assembled.writeBuffer(&more)
            fragments = frame.fin ? nil : assembled
            if frame.fin { message(assembled, compressed: fragmentsCompressed) }
        case ServerFrameReader.ping:
            send(ServerFrameReader.pong, frame.payload, context: context)
            context.flush()
        case ServerFrameReader.close:
            if !closing {
                closing = true
                stats.figures.closedByServer += 1
                var reply = context.channel.allocator.buffer(capacity: 2)
                reply.write(webSocketErrorCode: .normalClosure)
                send(ServerFrameReader.close, reply, context: context)
            }
            context.flush()
            context.close(promise: nil)
        default:
            break
        }
    }

    private func message(_ payload: ByteBuffer, compressed: Bool) {
        guard compressed, inflates else { return received(payload) }
        stats.figures.compressedFrames += 1
        guard let plain = stats.inflate(payload) else {
            stats.figures.unparsed += 1
            return
        }
        received(plain)
    }

    private func received(_ data: ByteBuffer) {
        let now = NIODeadline.now().uptimeNanoseconds
        guard let fields = data.withUnsafeReadableBytes({ MessageScanner.scan($0) }) else {
            stats.figures.unparsed += 1
            return
        }
        if let lastSeq, fields.seq <= lastSeq {
            if fields.seq == lastSeq { stats.figures.repeated += 1 } else { stats.figures.outOfOrder += 1 }
        } else {
            lastSeq = fields.seq
        }
        if fields.isProbe {
            if let probe = joinProbe, fields.sentAt == probe.startedAt {
                joinProbe = nil
                probeEchoed = true
                stats.probesEchoed += 1
                let micros = max((now &- probe.startedAt) / 1_000, 1)
                if probe.firstOnServer {
                    _ = stats.figures.firstJoinLatency.record(micros)
                } else {
                    _ = stats.figures.laterJoinLatency.record(micros)
                }
            }
            return
        }
        guard fields.sentAt >= stats.countFrom else {
            stats.figures.warmupReceived += 1
            return
        }
        receivedCount += 1
        stats.figures.received += 1
        stats.figures.lastReceivedAt = now
        let micros = now > fields.sentAt ? (now - fields.sentAt) / 1_000 : 0
        _ = stats.figures.latency.record(max(micros, 1))
        if let watch = historyWatch, fields.seq >= watch.lastSeq {
            historyWatch = nil
            stats.figures.historiesComplete += 1
            _ = stats.figures.joinLatency.record(max((now - watch.startedAt) / 1_000, 1))
        }
    }

    private func send(_ opcode: UInt8, _ payload: ByteBuffer, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(ServerFrameReader.clientFrame(opcode: opcode, payload: payload, allocator: context.channel.allocator)), promise: nil)
    }

    // MARK: publishing

    /// Posts this member's join probe (``JoinProbe``), if it has one.
    func sendJoinProbe() {
        guard let context, let probe = joinProbe else { return }
        var buffer = context.channel.allocator.buffer(capacity: 48)
        MessageText.writeJoinProbe(startedAt: probe.startedAt, into: &buffer)
        send(ServerFrameReader.text, buffer, context: context)
        context.flush()
    }

    /// Sends `rate` messages a second, the first at `firstAt`, until `stopAt` or until `count`
    /// are sent, each with a text of `messageBytes` that starts "t=<now ns> p=<id> n=<count>".
    func startPublishing(id: Int, rate: Double, firstAt: NIODeadline = .now(), stopAt: NIODeadline, count: UInt64 = .max, messageBytes: Int) {
        guard rate > 0 else { return }
        publisherID = id
        interval = .nanoseconds(Int64(1e9 / rate))
        self.stopAt = stopAt
        limit = count
        text = MessageText(bytes: messageBytes)
        nextSend = firstAt
        guard let context else { return }
        context.eventLoop.assumeIsolated().scheduleTask(deadline: firstAt) { self.tick() }
    }

    private func tick() {
        guard let context, !closing else { return }
        let now = NIODeadline.now()
        // Catch up on every message due, so the rate holds however late the tick runs.
        while nextSend <= now, nextSend < stopAt, sent < limit {
            sent += 1
            var buffer = context.channel.allocator.buffer(capacity: text.bytes + 16)
            let sentAt = NIODeadline.now().uptimeNanoseconds
            text.write(sentAt: sentAt, publisher: publisherID, number: sent, into: &buffer)
            send(ServerFrameReader.text, buffer, context: context)
            if sentAt >= stats.countFrom { stats.figures.published[room, default: 0] += 1 }
            nextSend = nextSend + interval
        }
        context.flush()
        guard nextSend < stopAt, sent < limit else {
            stats.publishersDone += 1
            return
        }
        context.eventLoop.assumeIsolated().scheduleTask(deadline: nextSend) { self.tick() }
    }

    // MARK: closing

    /// Starts the close handshake; the channel closes when the server answers (or after `timeout`).
    func close(timeout: TimeAmount) {
        guard let context, !closing else { return }
        closing = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: .normalClosure)
        send(ServerFrameReader.close, payload, context: context)
        context.flush()
        let channel = context.channel
        context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stats.figures.socketErrors += 1
        context.close(promise: nil)
    }
}
