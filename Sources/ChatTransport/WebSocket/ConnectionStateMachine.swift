import NIOCore
import NIOWebSocket

/// The lifecycle of one WebSocket connection as a value: what happened goes in, what to do
/// comes out as an ``Action``, and time comes in as an argument, so every rule (the close
/// handshake both ways, pings and the idle timeout, the frame rate) is tested without I/O
/// or a clock. ``WebSocketProtocolHandler`` feeds it and carries out its actions.
///
/// (The deadline to the 101 is the HTTP side's: ``RequestDeadline``.)
struct ConnectionStateMachine {
    enum State: UInt8, Equatable {
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        case closed
    }

    /// Why the connection is being closed, when a counter should record it.
    enum Cause: Equatable {
        case messageRate
        case controlRate
        case idle
    }

    enum Action: Equatable {
        case none
        /// Hand the message on.
        case deliver
        /// Over the rate, for a client told of its refusals (chat.v2): hand the message back
        /// to be refused; the connection stays open.
        case refuse
        /// Answer the ping with a pong carrying its payload.
        case sendPong
        /// Ping a silent peer; the payload counts the silent ticks.
        case sendPing(UInt64)
        /// Send a close frame and arm the close timeout; with `dropAfterSending`, close the
        /// TCP connection once it is written (a peer not expected to answer).
        case sendClose(WebSocketErrorCode, reason: String, dropAfterSending: Bool, cause: Cause?)
        /// Answer the peer's close frame, then close the TCP connection.
        case replyToClose
        /// Close the TCP connection (our close was answered, or never will be).
        case closeConnection
    }

    // Every connection holds one of these: the limits as tick counts rather than copies of the
    // durations, and the fields in an order that packs them (42 bytes).
    private var silentTicks: Int32 = 0
    /// Silent ping ticks after which the peer counts as gone: the idle timeout in ping
    /// intervals, rounded up; 0 without pings.
    private let silentTicksToIdle: Int32
    private var rateLimiter: MessageRateLimiter?
    /// Messages over the rate that may still be refused one by one (``refusesOverRate()``).
    private var refusalLimiter: MessageRateLimiter?
    private(set) var state = State.open
    private var heardSinceLastTick = false

    init(limits: WebSocketLimits) {
        if let pingInterval = limits.pingInterval, pingInterval.nanoseconds > 0 {
            let ticks = (max(0, limits.idleTimeout.nanoseconds) + pingInterval.nanoseconds - 1) / pingInterval.nanoseconds
            silentTicksToIdle = Int32(clamping: max(1, ticks))
        } else {
            silentTicksToIdle = 0
        }
        rateLimiter = limits.maximumMessagesPerSecond.map(MessageRateLimiter.init(messagesPerSecond:))
    }

    var isOpen: Bool { state == .open }

    /// For a client told of each refused message (chat.v2): over the rate, up to as many
    /// messages again per second are refused (``Action/refuse``) before the connection closes.
    mutating func refusesOverRate() {
        refusalLimiter = rateLimiter.map { MessageRateLimiter(messagesPerSecond: $0.messagesPerSecond) }
    }

    /// Any frame arrived: the peer is alive.
    mutating func frameArrived() {
        heardSinceLastTick = true
    }

    /// A whole data message arrived at `now`.
    mutating func messageArrived(now: NIODeadline) -> Action {
        guard state == .open else { return .none }
        guard takeFromRate(now: now) else {
            if refusalLimiter != nil, refusalLimiter!.admit(now: now) { return .refuse }
            return startClose(.policyViolation, reason: "more than \(rateLimiter!.messagesPerSecond) messages per second", cause: .messageRate)
        }
        return .deliver
    }

    /// A ping or pong arrived at `now`: both take from the same rate as messages, since
    /// answering a ping flood would cost as much as relaying a message flood.
    mutating func pingOrPongArrived(isPing: Bool, now: NIODeadline) -> Action {
        guard state == .open else { return .none }
        guard takeFromRate(now: now) else {
            return startClose(.policyViolation, reason: "more than \(rateLimiter!.messagesPerSecond) frames per second", cause: .controlRate)
        }
        return isPing ? .sendPong : .none
    }

    /// The peer's close frame arrived.
    mutating func closeArrived() -> Action {
        switch state {
        case .open:
            state = .closed
            return .replyToClose
        case .closeSent:
            // The handshake completed: the server closes the TCP connection first (RFC 6455 §7.1.1).
            state = .closed
            return .closeConnection
        case .closed:
            return .none
        }
    }

    /// Every ping interval: a peer heard from is left alone; a silent one is pinged, and one
    /// silent for the idle timeout (a half-open TCP connection, a frozen client) is dropped.
    mutating func pingIntervalElapsed() -> Action {
        guard state == .open, silentTicksToIdle > 0 else { return .none }
        if heardSinceLastTick {
            heardSinceLastTick = false
            silentTicks = 0
            return .none
        }
        silentTicks += 1
        if silentTicks >= silentTicksToIdle {
            return startClose(.goingAway, reason: "no answer to pings", dropAfterSending: true, cause: .idle)
        }
        return .sendPing(UInt64(silentTicks))
    }

    /// We close with `code` (a broken rule, shutdown, the fan-out): only an open connection.
    mutating func close(_ code: WebSocketErrorCode, reason: String, dropAfterSending: Bool = false) -> Action {
        startClose(code, reason: reason, dropAfterSending: dropAfterSending, cause: nil)
    }

    /// Our close frame went unanswered for the close timeout.
    mutating func closeTimeoutElapsed() -> Action {
        guard state == .closeSent else { return .none }
        state = .closed
        return .closeConnection
    }

    /// The TCP connection is gone.
    mutating func connectionClosed() {
        state = .closed
    }

    private mutating func startClose(_ code: WebSocketErrorCode, reason: String, dropAfterSending: Bool = false, cause: Cause?) -> Action {
        guard state == .open else { return .none }
        state = .closeSent
        return .sendClose(code, reason: reason, dropAfterSending: dropAfterSending, cause: cause)
    }

    private mutating func takeFromRate(now: NIODeadline) -> Bool {
        guard rateLimiter != nil else { return true }
        return rateLimiter!.admit(now: now)
    }
}
