import Synchronization

/// A cache in process memory with real expiry; the stand-in for Redis in tests and embedders.
public final class InMemoryChatCache: ChatCache {
    private let entries = Mutex<[ChatCacheKey: (value: [String], expires: ContinuousClock.Instant)]>([:])
    private let clock = ContinuousClock()

    public init() {}

    public func value(for key: ChatCacheKey) async throws -> [String]? {
        let now = clock.now
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expires <= now {
                entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    public func store(_ value: [String], for key: ChatCacheKey, ttl: Duration) async throws {
        let expires = clock.now.advanced(by: ttl)
        entries.withLock { $0[key] = (value, expires) }
    }

    public func invalidate(_ key: ChatCacheKey) async throws {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}
