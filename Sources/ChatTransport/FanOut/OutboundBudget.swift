import Synchronization

/// One memory budget for the outbound queues of all connections together.
///
/// The per-connection bound (``SlowConsumerPolicy``) stops one slow reader; this stops many,
/// each under its own bound, from exhausting memory together. Each ``LoopRoomHub`` reports
/// the change of its backed-up members' queued bytes once per flush, never per write; a loop
/// that finds the total over the budget closes its members holding the most (1008) until the
/// total is back under it.
///
/// Counted are queues over the channel's write-buffer high-water mark (64 KiB), which is
/// where queued bytes are already read; queues under it are bounded by the connection cap.
package final class OutboundBudget: Sendable {
    let limit: Int
    private let counters: TransportCounters

    package init(limit: Int, counters: TransportCounters) {
        self.limit = limit
        self.counters = counters
    }

    /// Applies one loop's change; returns the new total.
    @discardableResult
    func add(_ delta: Int) -> Int {
        counters.addOutboundQueued(delta)
    }

    var total: Int { counters.outboundQueuedBytes }
    var isExceeded: Bool { total > limit }
}
