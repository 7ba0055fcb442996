import ChatCore
import ChatCoreTesting
import ChatStorage
import Testing

/// The ChatCore contract suites against the Redis adapters on a real redis-server.
@Suite struct RedisContractTests {
    @Test(arguments: MessageBrokerContract.cases)
    func messageBroker(_ contract: ContractCase<BrokerFixture>) async throws {
        let pool = BrokerPool(configuration: try TestRedis.configuration())
        do {
            try await contract.run(against: BrokerFixture { pool.make() })
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
    }

    @Test(arguments: PresenceStoreContract.cases)
    func presenceStore(_ contract: ContractCase<any PresenceStore>) async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(), logger: TestRedis.logger)
        let store = RedisPresenceStore(client: client, server: .random(), logger: TestRedis.logger)
        do {
            try await contract.run(against: store)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}

/// The cache cases share the one room-list key, so they run one after another.
@Suite(.serialized) struct RedisCacheContractTests {
    @Test(arguments: ChatCacheContract.cases)
    func chatCache(_ contract: ContractCase<any ChatCache>) async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(), logger: TestRedis.logger)
        do {
            try await contract.run(against: RedisChatCache(client: client))
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test(arguments: RoomStoreContract.cases)
    func cachingRoomStore(_ contract: ContractCase<any RoomStore>) async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(), logger: TestRedis.logger)
        let cache = RedisChatCache(client: client)
        try await cache.invalidate(.roomList)
        let store = CachingRoomStore(base: InMemoryRoomStore(), cache: cache, logger: TestRedis.logger)
        do {
            try await contract.run(against: store)
            #expect(store.cacheFailures == 0)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
