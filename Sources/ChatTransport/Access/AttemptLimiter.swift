import NIOCore
import Synchronization

/// A token bucket per key (a client address, a user): `perMinute` attempts a minute, in bursts
/// of as many. Memory stays bounded: buckets that refilled are forgotten (they are the same as
/// no bucket), and past `maximumKeys` the oldest state is dropped rather than grown.
final class AttemptLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }

    private let capacity: Double
    private let refillPerNanosecond: Double
    private let maximumKeys: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    init(perMinute: Int, maximumKeys: Int = 100_000) {
        capacity = Double(perMinute)
        refillPerNanosecond = Double(perMinute) / 60e9
        self.maximumKeys = maximumKeys
    }

    /// True when `key` has no attempt left right now (nothing is taken).
    func isExhausted(_ key: String, now: NIODeadline = .now()) -> Bool {
        buckets.withLock { buckets in
            guard let bucket = buckets[key] else { return false }
            return refilled(bucket, now: now).tokens < 1
        }
    }

    /// Takes one attempt for `key`; false when none was left.
    func take(_ key: String, now: NIODeadline = .now()) -> Bool {
        buckets.withLock { buckets in
            var bucket = buckets[key].map { refilled($0, now: now) } ?? Bucket(tokens: capacity, updated: now)
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return false
            }
            bucket.tokens -= 1
            if buckets[key] == nil, buckets.count >= maximumKeys {
                buckets = buckets.filter { refilled($0.value, now: now).tokens < capacity }
                if buckets.count >= maximumKeys { buckets.removeAll() }
            }
            buckets[key] = bucket
            return true
        }
    }

    private func refilled(_ bucket: Bucket, now: NIODeadline) -> Bucket {
        let elapsed = Double(max(0, (now - bucket.updated).nanoseconds))
        return Bucket(tokens: min(capacity, bucket.tokens + elapsed * refillPerNanosecond), updated: now)
    }
}
