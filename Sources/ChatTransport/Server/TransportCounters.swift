import Synchronization

/// Counts of connections the transport closed for breaking a limit, for operators and tests.
public final class TransportCounters: Sendable {
    private let slowConsumers = Atomic<Int>(0)
    private let rateLimited = Atomic<Int>(0)
    private let idleTimeouts = Atomic<Int>(0)
    private let deflateSessions = Atomic<Int>(0)
    private let authenticationFailures = Atomic<Int>(0)
    private let authenticationRateLimited = Atomic<Int>(0)
    private let roomQuotaRefusals = Atomic<Int>(0)
    private let expiredCredentials = Atomic<Int>(0)

    public init() {}

    /// Readers closed (1008) because their outbound queue stayed over its limit.
    public var slowConsumersClosed: Int { slowConsumers.load(ordering: .relaxed) }
    /// Connections closed (1008) for sending more messages per second than allowed.
    public var rateLimitedClosed: Int { rateLimited.load(ordering: .relaxed) }
    /// Connections closed (1001) because they stayed silent past the idle timeout, pings unanswered.
    public var idleTimeoutsClosed: Int { idleTimeouts.load(ordering: .relaxed) }
    /// WebSocket connections that negotiated permessage-deflate.
    public var deflateSessionsNegotiated: Int { deflateSessions.load(ordering: .relaxed) }

    /// Requests refused (401/403) for a credential that was not valid.
    public var authenticationFailuresRefused: Int { authenticationFailures.load(ordering: .relaxed) }
    /// Requests refused (429) because their address failed authentication too often.
    public var authenticationAttemptsRateLimited: Int { authenticationRateLimited.load(ordering: .relaxed) }
    /// Room creations refused (429) by the per-user room quota.
    public var roomCreationsRefused: Int { roomQuotaRefusals.load(ordering: .relaxed) }
    /// WebSockets closed (4001) when their token expired.
    public var expiredCredentialsClosed: Int { expiredCredentials.load(ordering: .relaxed) }

    func countAuthenticationFailure() { authenticationFailures.add(1, ordering: .relaxed) }
    func countAuthenticationRateLimited() { authenticationRateLimited.add(1, ordering: .relaxed) }
    func countRoomQuotaRefusal() { roomQuotaRefusals.add(1, ordering: .relaxed) }
    func countExpiredCredential() { expiredCredentials.add(1, ordering: .relaxed) }
    func countSlowConsumer() { slowConsumers.add(1, ordering: .relaxed) }
    func countRateLimited() { rateLimited.add(1, ordering: .relaxed) }
    func countIdleTimeout() { idleTimeouts.add(1, ordering: .relaxed) }
    func countDeflateSession() { deflateSessions.add(1, ordering: .relaxed) }
}
