/// The read cache in front of the stores (Redis in production): cache-aside with a time to live,
/// invalidated on every write, so a missed invalidation heals within the TTL.
public protocol ChatCache: Sendable {
    func value(for key: ChatCacheKey) async throws -> [String]?
    func store(_ value: [String], for key: ChatCacheKey, ttl: Duration) async throws
    func invalidate(_ key: ChatCacheKey) async throws
}

/// What the cache holds.
public enum ChatCacheKey: Hashable, Sendable {
    /// The list of room ids.
    case roomList

    /// The key's name in a shared key-value store.
    public var name: String {
        switch self {
        case .roomList: "chat:cache:rooms"
        }
    }
}
