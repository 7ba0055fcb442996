import ChatCore
import ChatStorage
import ChatTestServices
import Testing

/// A cache that cannot reach Redis must never take the room list down with it.
@Suite struct RedisCacheFallbackTests {
    /// No timing is asserted (the machine may be busy); the time limit catches a read that hangs.
    @Test(.timeLimit(.minutes(1))) func anUnreachableRedisFallsBackToTheStoreAndIsCounted() async throws {
        // Port 1 on loopback: nothing listens, so every connection attempt is refused at once.
        var configuration = RedisConfiguration(host: "127.0.0.1", port: 1)
        configuration.connectTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
        let base = InMemoryRoomStore()
        let metrics = MeasuredMetrics()
        let store = CachingRoomStore(base: base, cache: RedisChatCache(client: client), metrics: metrics.factory, logger: TestRedis.logger)
        let room = try await store.create()
        #expect(try await store.all() == [room])
        #expect(try await store.contains(room))
        for operation in ["invalidate", "read", "fill"] {
            #expect(metrics.int("chatd_room_cache_failures_total", ["operation": operation]) >= 1, "the \(operation) failed and was counted")
        }
        await client.shutdown()
    }

    @Test func everyWriteInvalidatesTheCachedList() async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(database: 2), logger: TestRedis.logger)
        let cache = RedisChatCache(client: client)
        try await cache.invalidate(.roomList)
        let store = CachingRoomStore(base: InMemoryRoomStore(), cache: cache, ttl: .seconds(60), logger: TestRedis.logger)
        let first = try await store.create()
        #expect(try await store.all() == [first])
        #expect(try await cache.value(for: .roomList) == [first.description], "the read filled the cache")
        let second = try await store.create()
        #expect(try await cache.value(for: .roomList) == nil, "the write invalidated it")
        #expect(try await store.all() == [first, second])
        let ttl = try await client.command(["PTTL", ChatCacheKey.roomList.name]).int ?? -1
        #expect(ttl > 0 && ttl <= 60_000, "the entry carries its TTL (\(ttl) ms)")
        await client.shutdown()
    }
}

/// `--redis` at startup: Redis serves the broker, presence and the room-list cache, or the
/// server refuses to start with a message.
@Suite struct RedisBackendSelectionTests {
    @Test func aConfiguredRedisServesBrokerPresenceAndCache() async throws {
        let url = try TestRedis.configuration()
        // Database 3: the cache contract cases own the room-list key of database 0.
        let selection = try BackendSelection(redis: "redis://\(url.host):\(url.port)/3", mariadb: nil, elasticsearch: nil)
        let server = ServerID.random()
        let backends = try await selection.makeBackends(server: server, logger: TestRedis.logger)
        let presence = try #require(backends.presence as? RedisPresenceStore)
        #expect(presence.server == server)
        #expect(backends.broker is RedisMessageBroker)
        #expect(backends.rooms is CachingRoomStore)
        let room = try await backends.rooms.create()
        #expect(try await backends.rooms.all().contains(room))
        // Rooms are in this process's memory, so the cached list is kept under this server's name.
        let inspector = RedisClient(configuration: try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: "redis://\(url.host):\(url.port)/3")), logger: TestRedis.logger)
        #expect(try await inspector.command(["EXISTS", "chat:server:\(server.rawValue):chat:cache:rooms"]).int == 1)
        await inspector.shutdown()
        await presence.shutdown()
        await (backends.broker as? RedisMessageBroker)?.shutdown()
    }

    @Test func anUnreachableRedisStopsTheStartWithAMessage() async throws {
        let selection = try BackendSelection(redis: "redis://127.0.0.1:1", mariadb: nil, elasticsearch: nil)
        await #expect {
            _ = try await selection.makeBackends(server: .random(), logger: TestRedis.logger)
        } throws: { error in
            "\(error)".contains("cannot use Redis at redis://127.0.0.1:1")
        }
    }
}
