import Logging
import Metrics

/// Cache-aside in front of a ``RoomStore``: reads try the cache and fill it on a miss with a TTL;
/// every write invalidates. A failing cache is never fatal: the read goes to the store, and the
/// failure is logged and counted in `chatd_room_cache_failures_total{operation}` (`invalidate`,
/// `read`, `fill`; docs/operations.md, "Metrics").
public final class CachingRoomStore: RoomStore {
    private let base: any RoomStore
    private let cache: any ChatCache
    private let ttl: Duration
    private let logger: Logger
    private let failures: [Operation: Counter]

    /// A cache operation, the `operation` of `chatd_room_cache_failures_total`.
    private enum Operation: String, CaseIterable {
        case invalidate, read, fill
    }

    public init(
        base: any RoomStore, cache: any ChatCache, ttl: Duration = .seconds(30), metrics: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.base = base
        self.cache = cache
        self.ttl = ttl
        self.logger = logger
        var failures: [Operation: Counter] = [:]
        for operation in Operation.allCases {
            failures[operation] = Counter(label: "chatd_room_cache_failures_total", dimensions: [("operation", operation.rawValue)], factory: metrics)
        }
        self.failures = failures
    }

    public func create() async throws -> RoomID {
        let room = try await base.create()
        await cacheOperation(.invalidate) { try await cache.invalidate(.roomList) }
        return room
    }

    public func all() async throws -> [RoomID] {
        if let cached = await cacheOperation(.read, { try await cache.value(for: .roomList) }) ?? nil {
            let rooms = cached.compactMap { Int64($0).map { RoomID($0) } }
            if rooms.count == cached.count { return rooms }
            logger.warning("discarding malformed room list in cache")
        }
        let rooms = try await base.all()
        await cacheOperation(.fill) { try await cache.store(rooms.map(\.description), for: .roomList, ttl: ttl) }
        return rooms
    }

    public func contains(_ room: RoomID) async throws -> Bool {
        // A cached list may predate the room; only a positive answer from it is trusted.
        if let cached = await cacheOperation(.read, { try await cache.value(for: .roomList) }) ?? nil,
            cached.contains(room.description)
        {
            return true
        }
        return try await base.contains(room)
    }

    private func cacheOperation<T>(_ what: Operation, _ body: () async throws -> T) async -> T? {
        do {
            return try await body()
        } catch {
            failures[what]!.increment()
            logger.warning("cache \(what.rawValue) failed; using the store", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
