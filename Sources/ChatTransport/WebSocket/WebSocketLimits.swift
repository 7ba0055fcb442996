import NIOCore

/// The limits one WebSocket connection runs under, each with the close code that enforces it.
struct WebSocketLimits: Sendable {
    /// Largest frame payload and largest message, after inflating (1009).
    var maximumMessageBytes: Int
    /// Frames one message may span (1009 beyond it): bounds the work per message.
    var maximumFragments: Int = 1_024
    /// Messages handed on but not yet handled; beyond it reading pauses (no close).
    var maximumPendingMessages: Int
    /// How long to wait for the peer's close frame after ours before dropping TCP.
    var closeTimeout: TimeAmount
    /// A connection silent this long is pinged; silent for `idleTimeout` it is closed (1001).
    var pingInterval: TimeAmount?
    var idleTimeout: TimeAmount
    /// Messages a client may send per second (1008 beyond it); nil: unlimited.
    var maximumMessagesPerSecond: Int?
}
