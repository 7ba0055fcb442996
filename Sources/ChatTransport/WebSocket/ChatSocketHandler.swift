import ChatCore
import Logging
import NIOCore
import NIOWebSocket

/// The protocol side of one chat WebSocket: turns frames into posted messages, answers pings,
/// runs the close handshake both ways, and maps every failure to its close code.
///
/// Inbound text goes to `onText` (the connection's ``ChatSession``); reading pauses while
/// `maximumPending` messages await publishing, so a fast sender is slowed by TCP flow control
/// instead of growing memory. `onClosed` is called once, when the channel goes away.
final class ChatSocketHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private enum State {
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        case closed
    }

    private var state = State.open
    private var assembler: InboundMessageAssembler
    private let onText: (String) -> Void
    private var onClosed: (() -> Void)?
    private let maximumPending: Int
    private let closeTimeout: TimeAmount
    private let logger: Logger
    private var pending = 0
    private var readDeferred = false
    private var closeTimer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Called when our close frame is written: no data frame may follow it.
    var onCloseFrameSent: (() -> Void)?

    init(
        maximumMessageBytes: Int,
        maximumPending: Int,
        closeTimeout: TimeAmount,
        logger: Logger,
        onText: @escaping (String) -> Void,
        onClosed: @escaping () -> Void
    ) {
        self.onText = onText
        self.onClosed = onClosed
        self.assembler = InboundMessageAssembler(maximumMessageBytes: maximumMessageBytes)
        self.maximumPending = maximumPending
        self.closeTimeout = closeTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        reportClosed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        closeTimer?.cancel()
        reportClosed()
        context.fireChannelInactive()
    }

    private func reportClosed() {
        let onClosed = onClosed
        self.onClosed = nil
        onClosed?()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let output: InboundMessageAssembler.Output
        do throws(InboundMessageAssembler.Failure) {
            output = try assembler.receive(frame)
        } catch {
            switch error {
            case .protocolViolation(let reason): return close(.protocolError, reason: reason)
            case .tooLarge(let reason): return close(.messageTooLarge, reason: reason)
            }
        }
        switch output {
        case .incomplete:
            break
        case .text(let data):
            guard case .open = state else { return }  // after our close frame, data is ignored
            guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
                return close(.dataInconsistentWithMessage, reason: "text message is not valid UTF-8")
            }
            pending += 1
            onText(text)
        case .binary:
            close(.unacceptableData, reason: "this chat accepts text messages only")
        case .control(let control):
            handleControl(control, context: context)
        }
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
            break  // unsolicited pong: a heartbeat, nothing to do
        }
    }

    private func receivedClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        switch state {
        case .closeSent:
            // The handshake completed: the server closes the TCP connection first (RFC 6455 §7.1.1).
            state = .closed
            context.close(promise: nil)
        case .open:
            var data = frame.unmaskedData
            let reply: WebSocketErrorCode
            switch data.readableBytes {
            case 0:
                reply = .normalClosure
            case 1:
                reply = .protocolError
            default:
                let code = data.readInteger(as: UInt16.self)!
                if !CloseCode.isValidFromPeer(code) {
                    reply = .protocolError
                } else if String(validating: data.readableBytesView, as: UTF8.self) == nil {
                    reply = .dataInconsistentWithMessage
                } else {
                    reply = WebSocketErrorCode(codeNumber: Int(code))
                }
            }
            state = .closed
            onCloseFrameSent?()
            let payload = CloseCode.payload(reply, reason: "", allocator: context.channel.allocator)
            let loopBound = context.loopBound
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
                .whenComplete { _ in loopBound.value.close(promise: nil) }
        case .closed:
            break
        }
    }

    /// Starts the close handshake with `code`; drops the connection if the peer does not answer in time.
    func close(_ code: WebSocketErrorCode, reason: String) {
        guard case .open = state, let context else { return }
        state = .closeSent
        onCloseFrameSent?()
        logger.debug("closing WebSocket", metadata: ["code": "\(code)", "reason": "\(reason)"])
        let payload = CloseCode.payload(code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)), promise: nil)
        let loopBound = context.loopBound
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: closeTimeout) {
            loopBound.value.close(promise: nil)
        }
    }

    /// The session published one message: let the client send more if reading was paused.
    func inboundMessageHandled() {
        pending -= 1
        if readDeferred, pending < maximumPending, let context {
            readDeferred = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if pending >= maximumPending {
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
