import ChatCore
import Logging
import NIOCore
import NIOWebSocket

/// The protocol side of one WebSocket connection, shared by chat sessions and the conformance
/// echo endpoint: reads frames off the socket's bytes and writes its own
/// (``WebSocketFrameWire``; one handler per connection instead of NIO's decoder and encoder
/// beside it), reassembles and inflates messages and maps every broken rule to its close code;
/// the lifecycle (close handshake both ways, pings and the idle timeout, the frame rate, the
/// credential's expiry) is decided by a ``ConnectionStateMachine`` and the socket's one timer,
/// whose actions this handler carries out. It is the only handler after the upgrade: the
/// connection's ``RoomMember`` writes through its context (``RoomMemberSocket``).
///
/// Whole messages go to the ``WebSocketReceiver``; reading pauses while
/// `maximumPendingMessages` of them await ``messageHandled()``, so a fast sender is slowed by TCP
/// flow control instead of growing memory. The receiver hears `socketEnded` once, when the
/// channel goes away.
final class WebSocketProtocolHandler: ChannelDuplexHandler, RemovableChannelHandler, RoomMemberSocket {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

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
        /// The time the state machine judges rates by; injectable for tests.
        let clock: @Sendable () -> NIODeadline

        init(
            limits: WebSocketLimits, compressors: FrameCompressors?, counters: TransportCounters, logger: Logger,
            clock: @escaping @Sendable () -> NIODeadline = { .now() }
        ) {
            self.limits = limits
            self.compressors = compressors
            self.counters = counters
            self.logger = logger
            self.clock = clock
        }
    }

    // Every connection holds one of these for its whole life: the fields are declared largest
    // first, so the small ones share the tail instead of each padding to eight bytes.
    private var machine: ConnectionStateMachine
    private var assembler: InboundMessageAssembler
    /// The start of a frame whose remaining bytes have not arrived; nil between frames. A copy,
    /// so that an idle connection pins no receive buffer.
    private var partial: ByteBuffer?
    /// The one timer: the next ping tick (or the credential's expiry, when that comes first)
    /// while open, then the close timeout. A callback to this handler itself, so it is one
    /// entry in its loop's timer queue (a `RepeatedTask` costs a task object, a promise and two
    /// closures per connection, a `Scheduled` 25 bytes more, a task per expiring token ~300).
    private var timer: NIOScheduledCallback?
    /// When the credential the socket was admitted with expires (then it closes with 4001);
    /// set before the handler joins the pipeline.
    var credentialExpiry: NIODeadline?
    /// Given every message and told of the end; dropped once told, which ends the reference
    /// cycle with a chat session. One reference instead of a closure (and its context) per event.
    private var receiver: (any WebSocketReceiver)?
    private let shared: Shared
    private var limits: WebSocketLimits { shared.limits }
    private var compressors: FrameCompressors? { shared.compressors }
    private var counters: TransportCounters { shared.counters }
    private var logger: Logger { shared.logger }
    /// Created on the first compressed message of a client that keeps its compression context.
    private var ownInflater: MessageInflater?
    private var context: ChannelHandlerContext?
    /// Messages handed to the receiver and not yet handled.
    private var pending: Int32 = 0
    private let deflate: NegotiatedDeflate?
    private var readDeferred = false
    /// Set at the first frame that cannot be decoded: later bytes only drop the connection
    /// (its close frame is out; nothing the peer sends after garbage is trusted).
    private var undecodable = false
    /// Whether the socket is in its pipeline and no close has begun.
    var isOpen: Bool { context != nil && machine.isOpen }

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
        onMessage: @escaping (Message) -> Void,
        onClosed: @escaping () -> Void
    ) {
        self.init(
            shared: Shared(limits: limits, compressors: compressors, counters: counters, logger: logger), deflate: deflate,
            receiver: ClosureReceiver(message: onMessage, closed: onClosed))
    }

    init(
        shared: Shared,
        deflate: NegotiatedDeflate?,
        receiver: any WebSocketReceiver
    ) {
        let limits = shared.limits
        self.machine = ConnectionStateMachine(limits: limits)
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
        receiver?.socketAttached(to: context)
        schedulePingTick(on: context.eventLoop)
    }

    private func schedulePingTick(on eventLoop: any EventLoop) {
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let nextTick = limits.pingInterval.map { eventLoop.now + $0 }
        if let expiry = credentialExpiry, nextTick.map({ expiry <= $0 }) ?? true {
            timer = try? eventLoop.scheduleCallback(at: expiry, handler: SocketTimer(handler: handler, purpose: .credentialExpiry))
        } else if let nextTick {
            timer = try? eventLoop.scheduleCallback(at: nextTick, handler: SocketTimer(handler: handler, purpose: .ping))
        }
    }

    /// The credential expired: close with 4001 (no pings are due any more).
    fileprivate func credentialExpired() {
        timer = nil
        guard isOpen else { return }
        counters.countExpiredCredential()
        close(CloseCode.credentialExpired, reason: "token expired: reconnect with a fresh token")
    }

    /// The ping interval elapsed: ping a silent peer (or drop it), then wait for the next tick.
    fileprivate func pingIntervalElapsed() {
        timer = nil
        guard let context else { return }
        perform(machine.pingIntervalElapsed(), context: context)
        if self.context != nil, machine.isOpen { schedulePingTick(on: context.eventLoop) }
    }

    /// Our close frame went unanswered for the close timeout.
    fileprivate func closeTimeoutElapsed() {
        timer = nil
        guard let context else { return }
        perform(machine.closeTimeoutElapsed(), context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        receiver?.socketWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        receiver?.socketDetached()
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
        timer?.cancel()
        timer = nil
    }

    private func reportClosed() {
        let receiver = receiver
        self.receiver = nil
        receiver?.socketEnded()
    }

    /// The capacity of the buffer held for an incomplete frame (0: none); for the tests.
    var heldCapacity: Int { partial?.capacity ?? 0 }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !undecodable else { return context.close(promise: nil) }
        var buffer = unwrapInboundIn(data)
        let ownsBuffer = partial != nil
        if var held = partial {
            partial = nil  // `held` is then the storage's only owner: appending does not copy it
            held.writeBuffer(&buffer)
            buffer = held
        }
        do throws(NIOWebSocketError) {
            while let frame = try WebSocketFrameWire.frame(from: &buffer, maximumFrameBytes: limits.maximumFrameBytes) {
                frameArrived(frame, context: context)
            }
        } catch {
            undecodable = true
            if error == .invalidFrameLength {
                close(.messageTooLarge, reason: "frame exceeds the size limit")
            } else {
                close(.protocolError, reason: "malformed frame")
            }
            return
        }
        guard buffer.readableBytes > 0 else { return }
        if ownsBuffer {
            // Our own copy already: keep it, dropping the frames read off its front once they
            // outweigh what is left (so a stream that always ends mid-frame stays bounded, and
            // each byte is moved a bounded number of times).
            if buffer.readerIndex > buffer.readableBytes { buffer.discardReadBytes() }
            partial = buffer
            return
        }
        // A copy, not the slice: the slice would keep the channel's receive buffer from being reused.
        var held = context.channel.allocator.buffer(capacity: buffer.readableBytes)
        held.writeBuffer(&buffer)
        partial = held
    }

    private func frameArrived(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        machine.frameArrived()
        let output: InboundMessageAssembler.Output
        do throws(InboundMessageAssembler.Failure) {
            output = try assembler.receive(frame)
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
        let action = machine.messageArrived(now: shared.clock())
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
            context.write(prepareWrite(WebSocketFrame(fin: true, rsv1: true, opcode: opcode, data: compressed), context), promise: nil)
        } else {
            context.write(prepareWrite(WebSocketFrame(fin: true, opcode: opcode, data: payload), context), promise: nil)
        }
        context.flush()
    }

    private func handleControl(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case .ping, .pong:
            perform(machine.pingOrPongArrived(isPing: frame.opcode == .ping, now: shared.clock()), context: context, frame: frame)
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
            context.writeAndFlush(prepareWrite(pong, context), promise: nil)
        case .sendPing(let tick):
            var payload = context.channel.allocator.buffer(capacity: 8)
            payload.writeInteger(tick)
            context.writeAndFlush(prepareWrite(WebSocketFrame(fin: true, opcode: .ping, data: payload), context), promise: nil)
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
            context.writeAndFlush(prepareWrite(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), context))
                .whenComplete { _ in loopBound.value.close(promise: nil) }
        case .closeConnection:
            context.close(promise: nil)
        }
    }

    /// Lets the receiver write what must precede a frame of ours (the room messages its member
    /// is owed), then gives the frame as bytes for the socket.
    private func prepareWrite(_ frame: WebSocketFrame, _ context: ChannelHandlerContext) -> NIOAny {
        receiver?.socketWillWrite()
        return wrapOutboundOut(WebSocketFrameWire.bytes(of: frame, allocator: context.channel.allocator))
    }

    private func sendClose(_ code: WebSocketErrorCode, reason: String, dropAfterSending: Bool, context: ChannelHandlerContext) {
        receiver?.socketSentCloseFrame()
        logger.debug("closing WebSocket", metadata: ["connection": "\(receiver?.connection?.description ?? "-")", "code": "\(code)", "reason": "\(reason)"])
        counters.countClose(code)
        let payload = CloseCode.payload(code, reason: reason, allocator: context.channel.allocator)
        let sent = context.writeAndFlush(prepareWrite(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), context))
        let loopBound = context.loopBound
        if dropAfterSending {
            sent.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
        // The ping tick gives way to the close timeout: nothing is pinged once closing.
        timer?.cancel()
        timer = try? context.eventLoop.scheduleCallback(
            in: limits.closeTimeout, handler: SocketTimer(handler: NIOLoopBound(self, eventLoop: context.eventLoop), purpose: .closeTimeout))
    }

    func closeForMember(_ code: WebSocketErrorCode, reason: String) {
        close(code, reason: reason)
    }

    /// One message given to the receiver is handled: let the client send more if reading was paused.
    func messageHandled() {
        pending -= 1
        if readDeferred, Int(pending) < limits.maximumPendingMessages, let context {
            readDeferred = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if Int(pending) >= limits.maximumPendingMessages {
            readDeferred = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case is IOError:
            context.close(promise: nil)  // the peer is gone (reset, broken pipe): nothing to say to it
        default:
            logger.debug("WebSocket channel error", metadata: ["connection": "\(receiver?.connection?.description ?? "-")", "error": "\(error)"])
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

/// The socket's timer callback. Four words, stored in the loop's timer queue without a box.
private struct SocketTimer: NIOScheduledCallbackHandler, Sendable {
    enum Purpose {
        case ping
        case credentialExpiry
        case closeTimeout
    }

    let handler: NIOLoopBound<WebSocketProtocolHandler>
    let purpose: Purpose

    func handleScheduledCallback(eventLoop: some EventLoop) {
        switch purpose {
        case .ping: handler.value.pingIntervalElapsed()
        case .credentialExpiry: handler.value.credentialExpired()
        case .closeTimeout: handler.value.closeTimeoutElapsed()
        }
    }
}
