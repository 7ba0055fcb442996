import ChatCore

/// What every ``ChatCache`` must do.
public enum ChatCacheContract {
    public static let cases: [ContractCase<any ChatCache>] = [
        ContractCase("a stored value is read back until invalidated") { cache in
            try await cache.invalidate(.roomList)
            try expectEqual(try await cache.value(for: .roomList), nil, "before store")
            try await cache.store(["1", "7"], for: .roomList, ttl: .seconds(30))
            try expectEqual(try await cache.value(for: .roomList), ["1", "7"], "after store")
            try await cache.invalidate(.roomList)
            try expectEqual(try await cache.value(for: .roomList), nil, "after invalidate")
        },
        ContractCase("an empty list is a cached value, not a miss") { cache in
            try await cache.store([], for: .roomList, ttl: .seconds(30))
            try expectEqual(try await cache.value(for: .roomList), [], "empty list")
            try await cache.invalidate(.roomList)
        },
        ContractCase("a value expires after its time to live") { cache in
            try await cache.store(["1"], for: .roomList, ttl: .milliseconds(100))
            try await Task.sleep(for: .milliseconds(400))
            try expectEqual(try await cache.value(for: .roomList), nil, "after expiry")
        },
    ]
}
