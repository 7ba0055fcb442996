import NIOCore

/// When a recipient that does not keep up is cut off (close code 1008).
///
/// A queue may go over the limit for a moment (a burst, a busy client); one that stays over
/// it for `grace`, or reaches twice the limit, belongs to a reader that is not coming back, and
/// holding more for it would let one client grow the server's memory without bound.
package struct SlowConsumerPolicy: Sendable {
    var maximumQueuedBytes: Int
    var grace: TimeAmount

    package init(maximumQueuedBytes: Int, grace: TimeAmount) {
        self.maximumQueuedBytes = maximumQueuedBytes
        self.grace = grace
    }

    enum Verdict: Equatable {
        case fine
        /// Over the limit since the given moment; not yet for long enough.
        case over(since: NIODeadline)
        case close
    }

    func judge(queuedBytes: Int, overSince: NIODeadline?, now: NIODeadline) -> Verdict {
        guard queuedBytes > maximumQueuedBytes else { return .fine }
        if queuedBytes >= 2 * maximumQueuedBytes { return .close }
        guard let overSince else { return .over(since: now) }
        return now - overSince >= grace ? .close : .over(since: overSince)
    }
}
