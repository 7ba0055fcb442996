import ChatCore
import NIOCore

/// Who a ``WebSocketProtocolHandler`` hands its messages and its end to: the chat session,
/// or closures (``ClosureReceiver``) for the echo endpoint, the fuzzer and tests.
///
/// One reference per socket instead of a closure per event: each closure that captures
/// something is a heap context of its own, per connection (docs/performance.md, "An idle
/// connection, byte by byte").
protocol WebSocketReceiver: AnyObject {
    /// A whole message; ``WebSocketProtocolHandler/messageHandled()`` lets the next one in.
    func socketReceived(_ message: WebSocketProtocolHandler.Message)
    /// A message over the rate limit, once ``WebSocketProtocolHandler/refusesOverRate()`` was
    /// called: to be refused. Not counted as pending.
    func socketReceivedOverRate(_ message: WebSocketProtocolHandler.Message)
    /// Our close frame is being written: no data frame may follow it.
    func socketSentCloseFrame()
    /// The channel went away; called once, and the socket lets go of its receiver.
    func socketEnded()
    /// The chat connection, named in the socket's log lines (nil: the echo endpoint).
    var connection: ConnectionID? { get }
    /// The socket's handler joined the pipeline: what the receiver writes goes through `context`.
    func socketAttached(to context: ChannelHandlerContext)
    /// The socket's handler left the pipeline.
    func socketDetached()
    /// The socket is about to write a frame of its own: what must precede it goes first.
    func socketWillWrite()
    /// The channel went over its high-water mark (`false`) or back under its low one (`true`).
    func socketWritabilityChanged(_ writable: Bool)
}

extension WebSocketReceiver {
    var connection: ConnectionID? { nil }
    func socketAttached(to context: ChannelHandlerContext) {}
    func socketDetached() {}
    func socketWillWrite() {}
    func socketWritabilityChanged(_ writable: Bool) {}
}

/// A receiver made of closures.
final class ClosureReceiver: WebSocketReceiver {
    private let message: (WebSocketProtocolHandler.Message) -> Void
    private let closed: () -> Void
    var overRate: ((WebSocketProtocolHandler.Message) -> Void)?

    init(message: @escaping (WebSocketProtocolHandler.Message) -> Void, closed: @escaping () -> Void) {
        self.message = message
        self.closed = closed
    }

    func socketReceived(_ message: WebSocketProtocolHandler.Message) { self.message(message) }
    func socketReceivedOverRate(_ message: WebSocketProtocolHandler.Message) { overRate?(message) }
    func socketSentCloseFrame() {}
    func socketEnded() { closed() }
}
