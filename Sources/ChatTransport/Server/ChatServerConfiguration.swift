import NIOCore

/// Settings of the HTTP and WebSocket transport. Defaults suit a public chat server.
public struct ChatServerConfiguration: Sendable {
    /// Address to listen on.
    public var host: String
    /// Port to listen on; 0 picks a free one (see ``ChatServer/boundPort``).
    public var port: Int
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
    /// How long a new connection may take to send its first request head before it is closed.
    public var firstRequestTimeout: TimeAmount

    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        maximumMessageBytes: Int = 16 * 1024,
        maximumRequestBodyBytes: Int = 16 * 1024,
        maximumQueuedBytesPerConnection: Int = 4 * 1024 * 1024,
        maximumPendingInboundMessages: Int = 32,
        maximumHeldMessagesPerJoin: Int = 10_000,
        closeTimeout: TimeAmount = .seconds(5),
        httpIdleTimeout: Duration = .seconds(60),
        firstRequestTimeout: TimeAmount = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.maximumMessageBytes = maximumMessageBytes
        self.maximumRequestBodyBytes = maximumRequestBodyBytes
        self.maximumQueuedBytesPerConnection = maximumQueuedBytesPerConnection
        self.maximumPendingInboundMessages = maximumPendingInboundMessages
        self.maximumHeldMessagesPerJoin = maximumHeldMessagesPerJoin
        self.closeTimeout = closeTimeout
        self.httpIdleTimeout = httpIdleTimeout
        self.firstRequestTimeout = firstRequestTimeout
    }
}
