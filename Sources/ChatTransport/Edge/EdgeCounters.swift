import Synchronization

/// The abuse limits' counts, kept apart so ``TransportCounters`` grows by one stored property.
final class EdgeCounters: Sendable {
    let refusedForAddress = Atomic<Int>(0)
    let refusedServerFull = Atomic<Int>(0)
    let deadlinesMissed = Atomic<Int>(0)
    let originsRefused = Atomic<Int>(0)
    let controlFloods = Atomic<Int>(0)
    let budgetClosed = Atomic<Int>(0)
    let storageFull = Atomic<Int>(0)
    let outboundQueued = Atomic<Int>(0)
    let outboundQueuedPeak = Atomic<Int>(0)
}
