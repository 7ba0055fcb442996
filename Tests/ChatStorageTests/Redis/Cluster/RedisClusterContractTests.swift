import ChatCore
import ChatCoreTesting
import ChatTestServices
import Testing

@testable import ChatStorage

/// The ChatCore contract suites against the Redis adapters on the test command's Redis Cluster
/// (3 masters, a replica each): the same suites as ``RedisContractTests``, on the cluster
/// client and the cluster subscriber.
@Suite struct RedisClusterContractTests {
    @Test(arguments: MessageBrokerContract.cases)
    func messageBroker(_ contract: ContractCase<BrokerFixture>) async throws {
        let configuration = try TestRedisCluster.configuration()
        let pool = BrokerPool(configuration: configuration)
        let admin = configuration.makeCommandClient(logger: TestRedis.logger)
        // What a failover to a lagging replica or a restore does to a room's counter.
        let fixture = BrokerFixture(makeBroker: { pool.make() }, setBackCounter: { room, value in
            let key = RedisKeys.sequence(room)
            _ = try await admin.command(value.map { ["SET", key, String($0)] } ?? ["DEL", key])
        })
        do {
            try await contract.run(against: fixture)
        } catch {
            await admin.shutdown()
            await pool.shutdown()
            throw error
        }
        await admin.shutdown()
        await pool.shutdown()
    }

    @Test(arguments: PresenceStoreContract.cases)
    func presenceStore(_ contract: ContractCase<any PresenceStore>) async throws {
        let client = try TestRedisCluster.configuration().makeCommandClient(logger: TestRedis.logger)
        let store = RedisPresenceStore(client: client, server: .random(), logger: TestRedis.logger)
        do {
            try await contract.run(against: store)
        } catch {
            await store.shutdown()
            await client.shutdown()
            throw error
        }
        await store.shutdown()
        await client.shutdown()
    }

    /// Two servers' handles on one cluster: two clients, two subscribers.
    @Test(arguments: ClusterControlContract.cases)
    func clusterControl(_ contract: ContractCase<ClusterControlContract.Fixture>) async throws {
        let configuration = try TestRedisCluster.configuration()
        let clients = [configuration.makeCommandClient(logger: TestRedis.logger), configuration.makeCommandClient(logger: TestRedis.logger)]
        let controls = clients.map { RedisClusterControl(configuration: configuration, client: $0, logger: TestRedis.logger) }
        func shutdown() async {
            for control in controls { await control.shutdown() }
            for client in clients { await client.shutdown() }
        }
        do {
            try await contract.run(against: ClusterControlContract.Fixture(first: controls[0], second: controls[1]))
        } catch {
            await shutdown()
            throw error
        }
        await shutdown()
    }
}

/// The cache cases share the one room-list key, so they run one after another.
@Suite(.serialized) struct RedisClusterCacheContractTests {
    @Test(arguments: ChatCacheContract.cases)
    func chatCache(_ contract: ContractCase<any ChatCache>) async throws {
        let client = try TestRedisCluster.configuration().makeCommandClient(logger: TestRedis.logger)
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
        let client = try TestRedisCluster.configuration().makeCommandClient(logger: TestRedis.logger)
        let cache = RedisChatCache(client: client)
        try await cache.invalidate(.roomList)
        let metrics = MeasuredMetrics()
        let store = CachingRoomStore(base: InMemoryRoomStore(), cache: cache, metrics: metrics.factory, logger: TestRedis.logger)
        do {
            try await contract.run(against: store)
            #expect(metrics.int("chatd_room_cache_failures_total") == 0)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
