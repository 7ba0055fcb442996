import NIOCore

/// A token bucket: `messagesPerSecond` sustained, and the same number in a burst. A pure value
/// so the rule is tested without a clock.
///
/// Sixteen bytes (every connection holds one or two): the rate as 32 bits, the tokens as a
/// `Float` (exact for whole tokens up to 2^24) and the last refill as uptime nanoseconds.
struct MessageRateLimiter {
    private let rate: Int32
    private var tokens: Float
    /// `NIODeadline.uptimeNanoseconds` of the last refill; `.max`: none yet.
    private var lastRefill: UInt64 = .max

    init(messagesPerSecond: Int) {
        self.rate = Int32(clamping: messagesPerSecond)
        self.tokens = Float(rate)
    }

    var messagesPerSecond: Int { Int(rate) }

    /// Whether one more message may be taken at `now`.
    mutating func admit(now: NIODeadline) -> Bool {
        let nanoseconds = now.uptimeNanoseconds
        if lastRefill != .max, nanoseconds > lastRefill {
            let elapsed = Float(nanoseconds - lastRefill) / 1e9
            tokens = min(Float(rate), tokens + elapsed * Float(rate))
        }
        lastRefill = nanoseconds
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
