import ChatCore
import Logging
import NIOCore
import NIOWebSocket

/// The protocol side of one WebSocket connection, shared by chat sessions and the conformance
/// echo endpoint: reassembles and inflates messages and maps every broken rule to its close
/// code; the lifecycle (close handshake both ways, pings and the idle timeout, the frame
/// rate) is decided by a ``ConnectionStateMachine``, whose actions this handler carries out.
///
/// Whole messages go to the ``WebSocketReceiver``; reading pauses while
/// `maximumPendingMessages` of them await ``messageHandled()``, so a fast sender is slowed by TCP
/// flow control instead of growing memory. The receiver hears `socketEnded` once, when the
/// channel goes away.
final class WebSocketProtocolHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Message {
        case text(String)
        case binary(ByteBuffer)
    }

    /// What every socket of one kind on a server shares, held once rather than per connection
    /// (the limits alone are 72 bytes).
    final class Shared: Sendable {
        let limits: WebSocketLimits
        let compressors: FrameCompressors?
        let counters: TransportCounters
        let logger: Logger

        init(limits: WebSocketLimits, compressors: FrameCompressors?, counters: TransportCounters, logger: Logger) {
            self.limits = limits
            self.compressors = compressors
            self.counters = counters
            self.logger = logger
        }
    }

    private var machine: ConnectionStateMachine
    /// The time the state machine judges rates by; injected so tests can set it.
    private let clock: () -> NIODeadline
    private var assembler: InboundMessageAssembler
    private let shared: Shared
    private var limits: WebSocketLimits { shared.limits }
    private var compressors: FrameCompressors? { shared.compressors }
    private var counters: TransportCounters { shared.counters }
    private var logger: Logger { shared.logger }
    private let deflate: NegotiatedDeflate?
    /// Given every message and told of the end; dropped once told, which ends the reference
    /// cycle with a chat session. One reference instead of a closure (and its context) per event.
    private var receiver: (any WebSocketReceiver)?
    private var pending = 0
    private var readDeferred = false
    private var closeTimer: Scheduled<Void>?
    /// The next ping tick: a callback to this handler itself, so an idle connection's timer is
    /// one entry in its loop's timer queue (a `RepeatedTask` costs a task object, a promise and
    /// two closures per connection).
    private var pingTick: NIOScheduledCallback?
    /// Created on the first compressed message of a client that keeps its compression context.
    private var ownInflater: MessageInflater?
    private var context: ChannelHandlerContext?
    /// The chat connection, named in this handler's log lines (nil: the echo endpoint).
    var connection: ConnectionID?
    /// From now on a message over the rate limit goes to the receiver's
    /// `socketReceivedOverRate` (to be refused) instead of closing, up to as many again per
    /// second. Not counted as pending.
    func refusesOverRate() {
        machine.refusesOverRate()
    }

    /// For a socket made with closures: a message over the rate goes here (``refusesOverRate()``).
    var onRateLimited: ((Message) -> Void)? {
        get { (receiver as? ClosureReceiver)?.overRate }
        set {
            (receiver as? ClosureReceiver)?.overRate = newValue
            if newValue != nil { refusesOverRate() }
        }
    }

    convenience init(
        limits: WebSocketLimits,
        deflate: NegotiatedDeflate?,
        compressors: FrameCompressors?,
        counters: TransportCounters,
        logger: Logger,
        clock: @escaping () -> NIODeadline = { .now() },
        onMessage: @escaping (Message) -> Void,
        onClosed: @escaping () -> Void
    ) {
        self.init(
            shared: Shared(limits: limits, compressors: compressors, counters: counters, logger: logger), deflate: deflate, clock: clock,
            receiver: ClosureReceiver(message: onMessage, closed: onClosed))
    }

    init(
        shared: Shared,
        deflate: NegotiatedDeflate?,
        clock: @escaping () -> NIODeadline = { .now() },
        receiver: any WebSocketReceiver
    ) {
        let limits = shared.limits
        self.machine = ConnectionStateMachine(limits: limits)
        self.clock = clock
        self.shared = shared
        self.deflate = deflate
        self.receiver = receiver
        self.assembler = InboundMessageAssembler(
            maximumMessageBytes: limits.maximumMessageBytes,
            maximumFragments: limits.maximumFragments,
            acceptsCompressed: deflate != nil
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        schedulePingTick(on: context.eventLoop)
    }

    private func schedulePingTick(on eventLoop: any EventLoop) {
        guard let interval = limits.pingInterval else { return }
        pingTick = try? eventLoop.scheduleCallback(in: interval, handler: PingTick(handler: NIOLoopBound(self, eventLoop: eventLoop)))
    }

    /// The ping interval elapsed: ping a silent peer (or drop it), then wait for the next tick.
    fileprivate func pingIntervalElapsed() {
        pingTick = nil
        guard let context else { return }
        perform(machine.pingIntervalElapsed(), context: context)
        if self.context != nil, machine.isOpen { schedulePingTick(on: context.eventLoop) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        stopTimers()
        reportClosed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        machine.connectionClosed()
        stopTimers()
        reportClosed()
        context.fireChannelInactive()
    }

    private func stopTimers() {
        closeTimer?.cancel()
        pingTick?.cancel()
        pingTick = nil
    }

    private func reportClosed() {
        let receiver = receiver
        self.receiver = nil
        receiver?.socketEnded()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        machine.frameArrived()
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
            guard machine.isOpen, let data = inflated(data, compressed: compressed, context: context) else { return }
            guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
                return close(.dataInconsistentWithMessage, reason: "text message is not valid UTF-8")
            }
            deliver(.text(text), context: context)
        case .binary(let data, let compressed):
            guard machine.isOpen, let data = inflated(data, compressed: compressed, context: context) else { return }
            deliver(.binary(data), context: context)
        case .control(let control):
            handleControl(control, context: context)
        }
    }

    private func deliver(_ message: Message, context: ChannelHandlerContext) {
        let action = machine.messageArrived(now: clock())
        if action == .refuse, let receiver { return receiver.socketReceivedOverRate(message) }
        guard action == .deliver else { return perform(action, context: context) }
        pending += 1
        receiver?.socketReceived(message)
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
        guard machine.isOpen, let context else { return }
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
        case .ping, .pong:
            perform(machine.pingOrPongArrived(isPing: frame.opcode == .ping, now: clock()), context: context, frame: frame)
        case .connectionClose:
            perform(machine.closeArrived(), context: context, frame: frame)
        default:
            break
        }
    }

    /// Starts the close handshake with `code`; drops the connection if the peer does not
    /// answer in time, or at once after sending when it is not expected to answer.
    func close(_ code: WebSocketErrorCode, reason: String, dropAfterSending: Bool = false) {
        guard let context else { return }
        perform(machine.close(code, reason: reason, dropAfterSending: dropAfterSending), context: context)
    }

    /// Carries out what the state machine decided; `frame` is the control frame it answered.
    private func perform(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext, frame: WebSocketFrame? = nil) {
        switch action {
        case .none, .deliver, .refuse:
            break
        case .sendPong:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame?.unmaskedData ?? ByteBuffer())
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .sendPing(let tick):
            var payload = context.channel.allocator.buffer(capacity: 8)
            payload.writeInteger(tick)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: payload)), promise: nil)
        case .sendClose(let code, let reason, let dropAfterSending, let cause):
            switch cause {
            case .messageRate: counters.countRateLimited()
            case .controlRate: counters.countControlFlood()
            case .idle: counters.countIdleTimeout()
            case nil: break
            }
            sendClose(code, reason: reason, dropAfterSending: dropAfterSending, context: context)
        case .replyToClose:
            receiver?.socketSentCloseFrame()
            let peerPayload = frame?.unmaskedData ?? ByteBuffer()
            let reply = CloseCode.reply(toPeerClose: peerPayload)
            counters.countClose(reply)
            let payload = CloseCode.payload(reply, reason: "", allocator: context.channel.allocator)
            let loopBound = context.loopBound
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
                .whenComplete { _ in loopBound.value.close(promise: nil) }
        case .closeConnection:
            context.close(promise: nil)
        }
    }

    private func sendClose(_ code: WebSocketErrorCode, reason: String, dropAfterSending: Bool, context: ChannelHandlerContext) {
        receiver?.socketSentCloseFrame()
        logger.debug("closing WebSocket", metadata: ["connection": "\(connection?.description ?? "-")", "code": "\(code)", "reason": "\(reason)"])
        counters.countClose(code)
        let payload = CloseCode.payload(code, reason: reason, allocator: context.channel.allocator)
        let sent = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
        let loopBound = context.loopBound
        if dropAfterSending {
            sent.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: limits.closeTimeout) {
            let handler = handler.value
            guard let context = handler.context else { return }
            handler.perform(handler.machine.closeTimeoutElapsed(), context: context)
        }
    }

    /// One message given to the receiver is handled: let the client send more if reading was paused.
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
            logger.debug("WebSocket channel error", metadata: ["connection": "\(connection?.description ?? "-")", "error": "\(error)"])
            close(.protocolError, reason: "malformed frame")
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            close(.goingAway, reason: "server shutting down")
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            // The peer closed its TCP side without a close frame (a vanished client, or nginx
            // dropping its upstream socket): nothing more can arrive, so the socket is dead. The
            // server allows half-closure, so without this it would sit in CLOSE-WAIT, counted
            // against the address's limit and in presence, until the next ping failed.
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// A ping tick's callback: three words, stored in the loop's timer queue without a box.
private struct PingTick: NIOScheduledCallbackHandler, Sendable {
    let handler: NIOLoopBound<WebSocketProtocolHandler>

    func handleScheduledCallback(eventLoop: some EventLoop) {
        handler.value.pingIntervalElapsed()
    }
}
