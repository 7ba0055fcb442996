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

/// `--redis` at startup: Redis serves the broker and presence, and users, rooms and
/// credentials too while no MariaDB is configured (shared by every server on it, with no cache
/// in front), or the server refuses to start with a message. One after another: both cases
/// use database 3, and the first asserts it holds no cache key.
@Suite(.serialized) struct RedisBackendSelectionTests {
    @Test func redisAloneServesBrokerPresenceUsersRoomsAndCredentialsToEveryServer() async throws {
        let url = try TestRedis.configuration()
        // Database 3: the cache contract cases own the room-list key of database 0.
        let selection = try BackendSelection(redis: "redis://\(url.host):\(url.port)/3", mariadb: nil, elasticsearch: nil)
        let server = ServerID.random()
        let connected = try await selection.connect(server: server, logger: TestRedis.logger)
        let other = try await selection.connect(server: .random(), logger: TestRedis.logger)
        let backends = connected.ports
        let presence = try #require(backends.presence as? RedisPresenceStore)
        #expect(presence.server == server)
        #expect(backends.broker is RedisMessageBroker)
        #expect(backends.users is RedisUserStore && backends.rooms is RedisRoomStore && backends.credentials is RedisCredentialStore)
        #expect(selection.summary.hasPrefix("users, rooms: Redis redis://"), "\(selection.summary)")
        let room = try await backends.rooms.create()
        #expect(try await other.ports.rooms.all().contains(room), "one room list for both servers")
        let name = UserName(trusted: "selected-\(UInt32.random(in: 0...UInt32.max))")
        try await backends.users.create(name)
        await #expect(throws: ChatError.userNameTaken(name)) { try await other.ports.users.create(name) }
        let inspector = RedisClient(configuration: try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: "redis://\(url.host):\(url.port)/3")), logger: TestRedis.logger)
        #expect(try await inspector.command(["KEYS", "*chat:cache*"]).array == [], "no room-list cache of Redis in Redis")
        await inspector.shutdown()
        await connected.lifecycle.stop()
        await other.lifecycle.stop()
    }

    /// With MariaDB too, users and rooms stay there and Redis caches the room list in front of it.
    @Test func withMariaDBRedisCachesTheRoomListInFrontOfIt() async throws {
        let url = try TestRedis.configuration()
        try await MariaDBTestServer.withDatabase { pool in
            let database = pool.configuration
            let mariadb = "mariadb://\(database.user):\(database.password)@\(database.host):\(database.port)/\(database.database)"
            let selection = try BackendSelection(redis: "redis://\(url.host):\(url.port)/3", mariadb: mariadb, elasticsearch: nil)
            let connected = try await selection.connect(server: .random(), logger: TestRedis.logger)
            #expect(connected.ports.users is MariaDBUserStore && connected.ports.credentials is MariaDBCredentialStore)
            #expect(connected.ports.rooms is CachingRoomStore)
            #expect(selection.summary.hasPrefix("users, rooms: MariaDB mariadb://"), "\(selection.summary)")
            let room = try await connected.ports.rooms.create()
            #expect(try await MariaDBRoomStore(pool: pool).contains(room), "the room is in MariaDB")
            await connected.lifecycle.stop()
        }
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
