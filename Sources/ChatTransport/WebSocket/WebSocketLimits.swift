import NIOCore

/// The limits one WebSocket connection runs under, each with the close code that enforces it.
struct WebSocketLimits: Sendable {
    /// Largest message, after inflating (1009).
    var maximumMessageBytes: Int
    /// Largest frame payload (1009), refused as soon as the frame's header is read.
    var maximumFrameBytes: Int
    /// Frames one message may span (1009 beyond it): bounds the work per message.
    var maximumFragments: Int
    /// Messages handed on but not yet handled; beyond it reading pauses (no close).
    var maximumPendingMessages: Int
    /// How long to wait for the peer's close frame after ours before dropping TCP.
    var closeTimeout: TimeAmount
    /// A connection silent this long is pinged; silent for `idleTimeout` it is closed (1001).
    var pingInterval: TimeAmount?
    var idleTimeout: TimeAmount
    /// Messages a client may send per second (1008 beyond it); nil: unlimited.
    var maximumMessagesPerSecond: Int?

    /// `maximumFrameBytes` nil: the message limit.
    init(
        maximumMessageBytes: Int, maximumFrameBytes: Int? = nil, maximumFragments: Int = 1_024, maximumPendingMessages: Int,
        closeTimeout: TimeAmount, pingInterval: TimeAmount?, idleTimeout: TimeAmount, maximumMessagesPerSecond: Int?
    ) {
        self.maximumMessageBytes = maximumMessageBytes
        self.maximumFrameBytes = maximumFrameBytes ?? maximumMessageBytes
        self.maximumFragments = maximumFragments
        self.maximumPendingMessages = maximumPendingMessages
        self.closeTimeout = closeTimeout
        self.pingInterval = pingInterval
        self.idleTimeout = idleTimeout
        self.maximumMessagesPerSecond = maximumMessagesPerSecond
    }
}
