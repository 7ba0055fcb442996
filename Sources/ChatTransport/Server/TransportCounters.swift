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
    private let edge = EdgeCounters()

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

    /// Connections refused (429) for an address over its connection or new-connection limit.
    public var connectionsRefusedForAddress: Int { edge.refusedForAddress.load(ordering: .relaxed) }
    /// Connections refused (503) because the server held as many as it may.
    public var connectionsRefusedServerFull: Int { edge.refusedServerFull.load(ordering: .relaxed) }
    /// Connections closed because a request (or the handshake to the 101) missed its deadline.
    public var requestDeadlinesMissed: Int { edge.deadlinesMissed.load(ordering: .relaxed) }
    /// Upgrades refused (403) for an `Origin` that is not allowed.
    public var originsRefused: Int { edge.originsRefused.load(ordering: .relaxed) }
    /// Connections closed (1008) for sending more control frames (pings, pongs) per second than allowed.
    public var controlFloodsClosed: Int { edge.controlFloods.load(ordering: .relaxed) }
    /// Connections closed (1008) to bring all outbound queues together back under their budget.
    public var outboundBudgetClosed: Int { edge.budgetClosed.load(ordering: .relaxed) }
    /// Requests refused (507) because an in-memory store was full.
    public var storageFullRefusals: Int { edge.storageFull.load(ordering: .relaxed) }

    /// Bytes the outbound queues over their high-water mark hold now, all connections together
    /// (``AbuseLimits/outboundMemoryBudget``), and the most they held at once.
    public var outboundQueuedBytes: Int { edge.outboundQueued.load(ordering: .relaxed) }
    public var outboundQueuedBytesPeak: Int { edge.outboundQueuedPeak.load(ordering: .relaxed) }

    func addOutboundQueued(_ delta: Int) -> Int {
        let total = edge.outboundQueued.add(delta, ordering: .relaxed).newValue
        if delta > 0 { edge.outboundQueuedPeak.max(total, ordering: .relaxed) }
        return total
    }

    func countConnectionRefusedForAddress() { edge.refusedForAddress.add(1, ordering: .relaxed) }
    func countConnectionRefusedServerFull() { edge.refusedServerFull.add(1, ordering: .relaxed) }
    func countRequestDeadline() { edge.deadlinesMissed.add(1, ordering: .relaxed) }
    func countOriginRefused() { edge.originsRefused.add(1, ordering: .relaxed) }
    func countControlFlood() { edge.controlFloods.add(1, ordering: .relaxed) }
    func countOutboundBudgetClose() { edge.budgetClosed.add(1, ordering: .relaxed) }
    func countStorageFull() { edge.storageFull.add(1, ordering: .relaxed) }
}
