import ChatCore
import Logging
import NIOCore
import NIOWebSocket

/// The protocol side of one WebSocket connection, shared by chat sessions and the conformance
/// echo endpoint: reassembles and inflates messages, answers pings, pings silent peers, runs
/// the close handshake both ways, and maps every broken limit or rule to its close code.
///
/// Whole messages go to `onMessage`; reading pauses while `maximumPendingMessages` of them
/// await ``messageHandled()``, so a fast sender is slowed by TCP flow control instead of growing
/// memory. `onClosed` is called once, when the channel goes away.
final class WebSocketProtocolHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Message {
        case text(String)
        case binary(ByteBuffer)
    }

    private enum State {
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        case closed
    }

    private var state = State.open
    private var assembler: InboundMessageAssembler
    private let limits: WebSocketLimits
    private let deflate: NegotiatedDeflate?
    private let compressors: FrameCompressors?
    private let counters: TransportCounters
    private let onMessage: (Message) -> Void
    private var onClosed: (() -> Void)?
    private let logger: Logger
    private var pending = 0
    private var readDeferred = false
    private var closeTimer: Scheduled<Void>?
    private var pingTask: RepeatedTask?
    private var heardSinceLastTick = false
    private var silentTicks = 0
    private var rateLimiter: MessageRateLimiter?
    /// Created on the first compressed message of a client that keeps its compression context.
    private var ownInflater: MessageInflater?
    private var context: ChannelHandlerContext?
    /// Called when our close frame is written: no data frame may follow it.
    var onCloseFrameSent: (() -> Void)?
    /// Set: a message over the rate limit is handed here (to be refused) instead of closing,
    /// up to as many again per second. Not counted as pending.
    var onRateLimited: ((Message) -> Void)? {
        didSet { refusalLimiter = onRateLimited == nil ? nil : limits.maximumMessagesPerSecond.map(MessageRateLimiter.init(messagesPerSecond:)) }
    }
    private var refusalLimiter: MessageRateLimiter?

    init(
        limits: WebSocketLimits,
        deflate: NegotiatedDeflate?,
        compressors: FrameCompressors?,
        counters: TransportCounters,
        logger: Logger,
        onMessage: @escaping (Message) -> Void,
        onClosed: @escaping () -> Void
    ) {
        self.limits = limits
        self.deflate = deflate
        self.compressors = compressors
        self.counters = counters
        self.onMessage = onMessage
        self.onClosed = onClosed
        self.assembler = InboundMessageAssembler(
            maximumMessageBytes: limits.maximumMessageBytes,
            maximumFragments: limits.maximumFragments,
            acceptsCompressed: deflate != nil
        )
        self.rateLimiter = limits.maximumMessagesPerSecond.map(MessageRateLimiter.init(messagesPerSecond:))
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let interval = limits.pingInterval {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            pingTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                handler.value.pingTick()
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        stopTimers()
        reportClosed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        stopTimers()
        reportClosed()
        context.fireChannelInactive()
    }

    private func stopTimers() {
        closeTimer?.cancel()
        pingTask?.cancel()
        pingTask = nil
    }

    private func reportClosed() {
        let onClosed = onClosed
        self.onClosed = nil
        onClosed?()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        heardSinceLastTick = true
        let output: InboundMessageAssembler.Output
        do throws(InboundMessageAssembler.Failure) {
            output = try assembler.receive(unwrapInboundIn(data))
        } catch {
            switch error {
            case .protocolViolation(let reason): return close(.protocolError, reason: reason)
            case .tooLarge(let reason): return close(.messageTooLarge, reason: reason)
            case .invalidUTF8: return close(.dataInconsistentWithMessage, reason: "text message is not valid UTF-8")
            }
        }
        switch output {
        case .incomplete:
            break
        case .text(let data, let compressed):
            guard case .open = state, let data = inflated(data, compressed: compressed, context: context) else { return }
            guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
                return close(.dataInconsistentWithMessage, reason: "text message is not valid UTF-8")
            }
            deliver(.text(text), context: context)
        case .binary(let data, let compressed):
            guard case .open = state, let data = inflated(data, compressed: compressed, context: context) else { return }
            deliver(.binary(data), context: context)
        case .control(let control):
            handleControl(control, context: context)
        }
    }

    private func deliver(_ message: Message, context: ChannelHandlerContext) {
        if rateLimiter != nil, !rateLimiter!.admit(now: .now()) {
            // A client told of its refusals (chat.v2) may go on sending, up to twice the
            // rate: beyond that it is closed as well.
            if let onRateLimited, refusalLimiter!.admit(now: .now()) {
                return onRateLimited(message)
            }
            counters.countRateLimited()
            return close(.policyViolation, reason: "more than \(rateLimiter!.messagesPerSecond) messages per second")
        }
        pending += 1
        onMessage(message)
    }

    /// The message's bytes, inflated when it came compressed; nil after closing for a bad one.
    private func inflated(_ data: ByteBuffer, compressed: Bool, context: ChannelHandlerContext) -> ByteBuffer? {
        guard compressed, let deflate else { return data }
        do {
            let inflater: MessageInflater
            if deflate.clientNoContextTakeover {
                inflater = try MessageInflater.sharedForCurrentThread()
            } else if let ownInflater {
                inflater = ownInflater
            } else {
                inflater = try MessageInflater(windowBits: deflate.clientMaxWindowBits, keepsContext: true)
                ownInflater = inflater
            }
            return try inflater.inflate(data, maximumBytes: limits.maximumMessageBytes, allocator: context.channel.allocator)
        } catch MessageInflater.Failure.tooLarge {
            close(.messageTooLarge, reason: "message exceeds \(limits.maximumMessageBytes) bytes once inflated")
        } catch {
            close(.protocolError, reason: "compressed message could not be inflated")
        }
        return nil
    }

    /// Sends a data message, compressed when the client negotiated permessage-deflate and the
    /// message is large enough. (Chat messages bypass this: they arrive pre-framed.)
    func send(_ message: Message) {
        guard case .open = state, let context else { return }
        let (opcode, payload): (WebSocketOpcode, ByteBuffer) =
            switch message {
            case .text(let text): (.text, context.channel.allocator.buffer(string: text))
            case .binary(let data): (.binary, data)
            }
        if let deflate, let compressors,
            let compressed = compressors.compressedPayload(payload, windowBits: deflate.serverMaxWindowBits, allocator: context.channel.allocator)
        {
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, rsv1: true, opcode: opcode, data: compressed)), promise: nil)
        } else {
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, data: payload)), promise: nil)
        }
        context.flush()
    }

    private func handleControl(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case .ping:
            guard case .open = state else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            receivedClose(frame, context: context)
        default:
            break  // a pong: hearing it already counted as activity
        }
    }

    /// Every ping interval: a peer heard from is left alone; a silent one is pinged, and one
    /// silent for the idle timeout (a half-open TCP connection, a frozen client) is dropped.
    private func pingTick() {
        guard case .open = state, let context, let interval = limits.pingInterval else { return }
        if heardSinceLastTick {
            heardSinceLastTick = false
            silentTicks = 0
            return
        }
        silentTicks += 1
        if Int64(silentTicks) * interval.nanoseconds >= limits.idleTimeout.nanoseconds {
            counters.countIdleTimeout()
            close(.goingAway, reason: "no answer to pings", dropAfterSending: true)
            return
        }
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeInteger(UInt64(silentTicks))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: payload)), promise: nil)
    }

    private func receivedClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        switch state {
        case .closeSent:
            // The handshake completed: the server closes the TCP connection first (RFC 6455 §7.1.1).
            state = .closed
            context.close(promise: nil)
        case .open:
            state = .closed
            onCloseFrameSent?()
            let payload = CloseCode.payload(CloseCode.reply(toPeerClose: frame.unmaskedData), reason: "", allocator: context.channel.allocator)
            let loopBound = context.loopBound
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
                .whenComplete { _ in loopBound.value.close(promise: nil) }
        case .closed:
            break
        }
    }

    /// Starts the close handshake with `code`; drops the connection if the peer does not
    /// answer in time, or at once after sending when it is not expected to answer.
    func close(_ code: WebSocketErrorCode, reason: String, dropAfterSending: Bool = false) {
        guard case .open = state, let context else { return }
        state = .closeSent
        onCloseFrameSent?()
        logger.debug("closing WebSocket", metadata: ["code": "\(code)", "reason": "\(reason)"])
        let payload = CloseCode.payload(code, reason: reason, allocator: context.channel.allocator)
        let sent = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
        let loopBound = context.loopBound
        if dropAfterSending {
            sent.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: limits.closeTimeout) {
            loopBound.value.close(promise: nil)
        }
    }

    /// One message given to `onMessage` is handled: let the client send more if reading was paused.
    func messageHandled() {
        pending -= 1
        if readDeferred, pending < limits.maximumPendingMessages, let context {
            readDeferred = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if pending >= limits.maximumPendingMessages {
            readDeferred = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            close(.messageTooLarge, reason: "frame exceeds the size limit")
        case is NIOWebSocketError:
            close(.protocolError, reason: "malformed frame")
        case is IOError:
            context.close(promise: nil)  // the peer is gone (reset, broken pipe): nothing to say to it
        default:
            logger.debug("WebSocket channel error", metadata: ["error": "\(error)"])
            close(.protocolError, reason: "malformed frame")
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            close(.goingAway, reason: "server shutting down")
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
