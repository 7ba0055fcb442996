import Logging
import Metrics
import NIOWebSocket
import Synchronization

/// The transport's metrics, recorded through swift-metrics (docs/operations.md, "Metrics"): the
/// one mechanism behind every count the transport keeps. chatd bootstraps the Prometheus factory
/// and serves it at the admin listener's `GET /metrics`; tests hand in a factory of their own.
///
/// Every refusal is counted in `chatd_rejected_total{reason}` and logged once, at `notice`,
/// with its reason (``reject(_:_:)``).
public final class TransportCounters: Sendable {
    /// Why a request, upgrade or connection was refused: the `reason` of `chatd_rejected_total`.
    public enum Refusal: String, Sendable, CaseIterable {
        /// An upgrade from a page whose `Origin` is not allowed (403).
        case origin
        /// A credential that was not valid (401/403).
        case authentication
        /// An address that failed authentication too often (429).
        case authenticationRate = "authentication_rate"
        /// A user over the room-creation quota (429).
        case roomQuota = "room_quota"
        /// An address over its connection or new-connection limit (429).
        case addressLimit = "address_limit"
        /// The server held as many connections as it may (503).
        case serverFull = "server_full"
        /// A request (or the handshake to the 101) that missed its deadline.
        case requestDeadline = "request_deadline"
        /// A WebSocket that sent more messages per second than allowed (1008).
        case messageRate = "message_rate"
        /// A WebSocket that sent more control frames per second than allowed (1008).
        case controlRate = "control_rate"
        /// An in-memory store that was full (507).
        case storageFull = "storage_full"
        /// An admin call without the admin token, or with a wrong one (401/403).
        case adminToken = "admin_token"
    }

    /// The factory every metric of this server is made by.
    public let factory: any MetricsFactory
    private let logger: Logger
    private let rejected: [Refusal: Counter]
    private let slowConsumers: Counter
    private let budgetCloses: Counter
    private let idleTimeouts: Counter
    private let expiredCredentials: Counter
    private let deflateSessions: Counter
    private let published: Counter
    private let deliveries: Counter
    private let deliveryLatency: Metrics.Timer
    private let joinHistory: Metrics.Timer
    private let connections: Meter
    private let roomsActive: Meter
    private let closes = Mutex<[UInt16: Counter]>([:])
    /// Bytes the backed-up outbound queues hold together (``OutboundBudget``'s state) and the most
    /// they held at once: what the budget decides on, so kept exactly, not only exported.
    private let outboundQueued = Atomic<Int>(0)
    private let outboundQueuedPeak = Atomic<Int>(0)
    private let outboundQueuedGauge: Meter

    /// `auth` is the server's auth mode, the `auth` dimension of `chatd_connections`.
    public init(factory: any MetricsFactory = MetricsSystem.factory, auth: String = "token", logger: Logger = Logger(label: "chatd")) {
        self.factory = factory
        self.logger = logger
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
        var rejected: [Refusal: Counter] = [:]
        for reason in Refusal.allCases { rejected[reason] = counter("chatd_rejected_total", [("reason", reason.rawValue)]) }
        self.rejected = rejected
        slowConsumers = counter("chatd_slow_consumer_closes_total")
        budgetCloses = counter("chatd_outbound_budget_closes_total")
        idleTimeouts = counter("chatd_idle_timeout_closes_total")
        expiredCredentials = counter("chatd_expired_credential_closes_total")
        deflateSessions = counter("chatd_deflate_sessions_total")
        published = counter("chatd_messages_published_total")
        deliveries = counter("chatd_deliveries_total")
        deliveryLatency = Metrics.Timer(label: "chatd_delivery_latency_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        joinHistory = Metrics.Timer(label: "chatd_join_history_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        connections = Meter(label: "chatd_connections", dimensions: [("auth", auth)], factory: factory)
        roomsActive = Meter(label: "chatd_rooms_active", dimensions: [], factory: factory)
        outboundQueuedGauge = Meter(label: "chatd_outbound_queued_bytes", dimensions: [], factory: factory)
    }

    // MARK: Refusals

    /// Counts a refusal and logs it once, at `notice` (an operator filters on the `reason`).
    /// `detail` must never hold a credential (a join's URI carries its `access_token`).
    func reject(_ reason: Refusal, _ detail: String? = nil) {
        rejected[reason]!.increment()
        var metadata: Logger.Metadata = ["reason": "\(reason.rawValue)"]
        if let detail { metadata["detail"] = "\(detail)" }
        logger.notice("refused", metadata: metadata)
    }

    func countAuthenticationFailure() { reject(.authentication) }
    func countAuthenticationRateLimited() { reject(.authenticationRate) }
    func countRoomQuotaRefusal() { reject(.roomQuota) }
    func countConnectionRefusedForAddress() { reject(.addressLimit) }
    func countConnectionRefusedServerFull() { reject(.serverFull) }
    func countRequestDeadline() { reject(.requestDeadline) }
    func countOriginRefused() { reject(.origin) }
    func countRateLimited() { reject(.messageRate) }
    func countControlFlood() { reject(.controlRate) }
    func countStorageFull() { reject(.storageFull) }

    // MARK: Closes and sessions

    func countExpiredCredential() { expiredCredentials.increment() }
    func countSlowConsumer() { slowConsumers.increment() }
    func countIdleTimeout() { idleTimeouts.increment() }
    func countDeflateSession() { deflateSessions.increment() }
    func countOutboundBudgetClose() { budgetCloses.increment() }

    /// A WebSocket closed with `code` (sent by the server, or the peer's, answered).
    func countClose(_ code: WebSocketErrorCode) {
        let number = UInt16(webSocketErrorCode: code)
        let counter = closes.withLock { closes in
            if let counter = closes[number] { return counter }
            let counter = Counter(label: "chatd_ws_closes_total", dimensions: [("code", "\(number)")], factory: factory)
            closes[number] = counter
            return counter
        }
        counter.increment()
    }

    /// A joined WebSocket opened (+1) or ended (-1).
    func countConnection(_ delta: Int) {
        if delta > 0 { connections.increment(by: Double(delta)) } else { connections.decrement(by: Double(-delta)) }
    }

    /// A room got its first local member (+1) or lost its last (-1).
    func countActiveRoom(_ delta: Int) {
        if delta > 0 { roomsActive.increment() } else { roomsActive.decrement() }
    }

    /// How long a join's history read took.
    func recordJoinHistory(nanoseconds: Int64) { joinHistory.recordNanoseconds(nanoseconds) }

    // MARK: Messages

    /// One message published by this server.
    public func countPublished() { published.increment() }

    /// One message fanned out to `recipients` members of one event loop: one count per batch,
    /// never per recipient; `latencyNanoseconds` is from its publish timestamp to the writes.
    func countDeliveries(_ recipients: Int, latencyNanoseconds: @autoclosure () -> Int64) {
        guard recipients > 0 else { return }
        deliveries.increment(by: Int64(recipients))
        deliveryLatency.recordNanoseconds(max(0, latencyNanoseconds()))
    }

    // MARK: Outbound budget

    /// Bytes the outbound queues over their high-water mark hold now, all connections together
    /// (``AbuseLimits/outboundMemoryBudget``), and the most they held at once.
    public var outboundQueuedBytes: Int { outboundQueued.load(ordering: .relaxed) }
    public var outboundQueuedBytesPeak: Int { outboundQueuedPeak.load(ordering: .relaxed) }

    func addOutboundQueued(_ delta: Int) -> Int {
        let total = outboundQueued.add(delta, ordering: .relaxed).newValue
        if delta > 0 { outboundQueuedPeak.max(total, ordering: .relaxed) }
        outboundQueuedGauge.set(total)
        return total
    }
}
