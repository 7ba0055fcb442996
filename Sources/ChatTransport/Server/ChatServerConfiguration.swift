import NIOCore

/// Settings of the HTTP and WebSocket transport. Defaults suit a public chat server.
public struct ChatServerConfiguration: Sendable {
    /// Address to listen on.
    public var host: String
    /// Port to listen on; 0 picks a free one (see ``ChatServer/boundPort``).
    public var port: Int
    /// Connections the kernel may hold for `accept` (the kernel caps it at `net.core.somaxconn`).
    /// When it overflows, a client's SYN is dropped and retried after a second: a crowd
    /// reconnecting after a restart needs room here (docs/performance.md, join-storm).
    public var listenBacklog: Int
    /// Largest accepted WebSocket frame payload, and largest reassembled message, in bytes.
    /// Larger ones close the connection with 1009.
    public var maximumMessageBytes: Int
    /// Largest accepted HTTP request body, in bytes (413 above it).
    public var maximumRequestBodyBytes: Int
    /// Bytes a connection may have queued for the kernel before it is closed as a slow consumer (1008).
    public var maximumQueuedBytesPerConnection: Int
    /// Messages a connection may have sent that are not yet published; beyond it, reading pauses.
    public var maximumPendingInboundMessages: Int
    /// Live messages held for a joining connection while its history loads; beyond it the join fails (1013).
    public var maximumHeldMessagesPerJoin: Int
    /// How long to wait for a client's close frame after sending ours, before dropping the TCP connection.
    public var closeTimeout: TimeAmount
    /// How long an HTTP keep-alive connection may sit without a request before it is closed.
    public var httpIdleTimeout: Duration
    /// permessage-deflate (RFC 7692) for clients that offer it; nil turns compression off.
    public var deflate: PerMessageDeflateSettings?
    /// How long a reader's outbound queue may stay over `maximumQueuedBytesPerConnection`
    /// before it is closed (1008); at twice the limit it is closed at once.
    public var slowConsumerGrace: TimeAmount
    /// A WebSocket silent this long is pinged; nil: never pinged, never timed out.
    public var pingInterval: TimeAmount?
    /// A WebSocket silent this long (its pings unanswered) is closed (1001): this reaps
    /// half-open TCP connections. Counted in whole ping intervals.
    public var idleTimeout: TimeAmount
    /// Chat messages a connection may send per second, with bursts of as many (1008 beyond
    /// it); nil: unlimited.
    public var maximumMessagesPerSecond: Int?
    /// How long the fan-out waits before flushing a member it wrote to, so the messages of
    /// that window share one write syscall; zero flushes at the end of each event-loop tick.
    /// Adds up to this much latency to a lone message and takes a lot off under load: with
    /// 5 ms, p99 at 200,000 deliveries/s fell from 76-616 ms to 33-75 ms; 10 ms (the default)
    /// took about a quarter off chatd's CPU per delivery at 100-200 messages/s into a
    /// 1,000-member room for 3 ms more p99 (docs/performance.md).
    public var flushWindow: TimeAmount
    /// TLS on the listener (https and wss only); nil: plain HTTP. See ``ChatServerTLS``.
    public var tls: ChatServerTLS? = nil
    /// Authentication and the limits that go with it (``AccessSettings``): tokens by default.
    public var access = AccessSettings()
    /// Which web pages may join (the `Origin` check on the upgrade): by default only the
    /// server's own.
    public var originPolicy = OriginPolicy.sameOrigin
    /// Connection, handshake and memory limits (docs/security.md, "Abuse limits").
    public var abuseLimits = AbuseLimits()

    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        listenBacklog: Int = 4096,
        maximumMessageBytes: Int = 16 * 1024,
        maximumRequestBodyBytes: Int = 16 * 1024,
        maximumQueuedBytesPerConnection: Int = 4 * 1024 * 1024,
        maximumPendingInboundMessages: Int = 32,
        maximumHeldMessagesPerJoin: Int = 10_000,
        closeTimeout: TimeAmount = .seconds(5),
        httpIdleTimeout: Duration = .seconds(60),
        deflate: PerMessageDeflateSettings? = PerMessageDeflateSettings(),
        slowConsumerGrace: TimeAmount = .seconds(1),
        pingInterval: TimeAmount? = .seconds(30),
        idleTimeout: TimeAmount = .seconds(60),
        maximumMessagesPerSecond: Int? = 50,
        flushWindow: TimeAmount = .milliseconds(10)
    ) {
        self.host = host
        self.port = port
        self.listenBacklog = listenBacklog
        self.maximumMessageBytes = maximumMessageBytes
        self.maximumRequestBodyBytes = maximumRequestBodyBytes
        self.maximumQueuedBytesPerConnection = maximumQueuedBytesPerConnection
        self.maximumPendingInboundMessages = maximumPendingInboundMessages
        self.maximumHeldMessagesPerJoin = maximumHeldMessagesPerJoin
        self.closeTimeout = closeTimeout
        self.httpIdleTimeout = httpIdleTimeout
        self.deflate = deflate
        self.slowConsumerGrace = slowConsumerGrace
        self.pingInterval = pingInterval
        self.idleTimeout = idleTimeout
        self.maximumMessagesPerSecond = maximumMessagesPerSecond
        self.flushWindow = flushWindow
    }

    var webSocketLimits: WebSocketLimits {
        WebSocketLimits(
            maximumMessageBytes: maximumMessageBytes,
            // One frame limit for seed and chat.v2 sockets: a chat.v2 envelope's.
            maximumFrameBytes: maximumEnvelopeBytes,
            maximumPendingMessages: maximumPendingInboundMessages,
            closeTimeout: closeTimeout,
            pingInterval: pingInterval,
            idleTimeout: idleTimeout,
            maximumMessagesPerSecond: maximumMessagesPerSecond
        )
    }

    /// Largest frame and message of a `chat.v2` client: a post envelope around a text of
    /// `maximumMessageBytes`, escaped (quotes, backslashes and line breaks double), with its id.
    /// A longer text in a smaller envelope gets an error envelope, not a close.
    var maximumEnvelopeBytes: Int { 2 * maximumMessageBytes + 1_024 }

    var slowConsumerPolicy: SlowConsumerPolicy {
        SlowConsumerPolicy(maximumQueuedBytes: maximumQueuedBytesPerConnection, grace: slowConsumerGrace)
    }
}
