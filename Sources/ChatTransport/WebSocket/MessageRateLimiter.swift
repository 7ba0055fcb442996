import NIOCore

/// A token bucket: `messagesPerSecond` sustained, and the same number in a burst. A pure value
/// so the rule is tested without a clock.
struct MessageRateLimiter {
    let messagesPerSecond: Int
    private var tokens: Double
    private var lastRefill: NIODeadline?

    init(messagesPerSecond: Int) {
        self.messagesPerSecond = messagesPerSecond
        self.tokens = Double(messagesPerSecond)
    }

    /// Whether one more message may be taken at `now`.
    mutating func admit(now: NIODeadline) -> Bool {
        if let lastRefill {
            let elapsed = Double((now - lastRefill).nanoseconds) / 1e9
            tokens = min(Double(messagesPerSecond), tokens + elapsed * Double(messagesPerSecond))
        }
        lastRefill = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
