import Histogram

/// What the connections of one event loop have seen. Touched only on that loop (it sits in a
/// `NIOLoopBound`), so the hot path takes no lock; merged once at the end.
final class LoopStats {
    /// Messages of this run received, over all members of this loop.
    var received: UInt64 = 0
    /// Messages whose room `seq` was not above the previous one the same member saw.
    var outOfOrder: UInt64 = 0
    /// Text frames that were not a message of this run (no `t=` or no `seq`).
    var unparsed: UInt64 = 0
    /// Messages written by this loop's publishers, per room index.
    var published: [Int: UInt64] = [:]
    /// When the last message of this run arrived (monotonic nanoseconds).
    var lastReceivedAt: UInt64 = 0
    /// Delivery latency in microseconds.
    var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

    init() {}

    var snapshot: Snapshot {
        Snapshot(received: received, outOfOrder: outOfOrder, unparsed: unparsed, published: published, lastReceivedAt: lastReceivedAt, latency: latency)
    }

    struct Snapshot: Sendable {
        var received: UInt64 = 0
        var outOfOrder: UInt64 = 0
        var unparsed: UInt64 = 0
        var published: [Int: UInt64] = [:]
        var lastReceivedAt: UInt64 = 0
        var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

        var totalPublished: UInt64 { published.values.reduce(0, +) }

        mutating func add(_ other: Snapshot) {
            received += other.received
            outOfOrder += other.outOfOrder
            unparsed += other.unparsed
            published.merge(other.published, uniquingKeysWith: +)
            lastReceivedAt = Swift.max(lastReceivedAt, other.lastReceivedAt)
            latency.add(other.latency)
        }
    }
}
