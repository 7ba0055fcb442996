import NIOCore

/// Bounds on what clients can make the server hold, each with the error that enforces it
/// (docs/security.md, "Abuse limits"). Defaults suit a public chat server on one machine.
public struct AbuseLimits: Sendable {
    /// Open connections one client address may hold (429, then close, beyond it). Generous,
    /// because many users can share an address (NAT, a school, a mobile carrier).
    public var maximumConnectionsPerAddress: Int = 256
    /// Open connections in total (503, then close, beyond it): stays below the file
    /// descriptor limit so the server keeps serving the connections it has.
    public var maximumConnections: Int = 50_000
    /// New connections one address may open per second, with bursts of as many (429 beyond it).
    public var newConnectionsPerSecondPerAddress: Int = 50
    /// From accept, or from a later request's head, to the 101 or to the end of the request's
    /// body: a slow client (slowloris) is closed after it.
    public var requestDeadline: TimeAmount = .seconds(10)
    /// Bytes all outbound queues together may hold; above it the connections holding the
    /// most are closed (1008) until the total is back under it.
    public var outboundMemoryBudget: Int = 512 * 1024 * 1024
    /// IP addresses of the operator's reverse proxies: for connections from them the client
    /// address is the one they name in `X-Forwarded-For` / `X-Real-IP` (``ClientAddress``).
    public var trustedProxies: Set<String> = []

    public init() {}
}
