import ChatCore
import ChatCoreTesting
@testable import ChatStorage
import ChatTestServices
import Testing

/// The ChatCore contract suites against the Redis adapters on a real redis-server, on a
/// one-node cluster with sharded Pub/Sub, and on the 3-master Redis Cluster through the cluster
/// client and the cluster subscriber (``RedisTarget``).
@Suite struct RedisContractTests {
    @Test(arguments: RedisTarget.withCluster, MessageBrokerContract.cases)
    func messageBroker(_ target: RedisTarget, _ contract: ContractCase<BrokerFixture>) async throws {
        let configuration = try target.configuration()
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

    @Test(arguments: RedisTarget.withCluster, PresenceStoreContract.cases)
    func presenceStore(_ target: RedisTarget, _ contract: ContractCase<any PresenceStore>) async throws {
        let client = try target.configuration().makeCommandClient(logger: TestRedis.logger)
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

    /// Two servers' handles on one Redis: two clients, two subscriber connections.
    @Test(arguments: RedisTarget.withCluster, ClusterControlContract.cases)
    func clusterControl(_ target: RedisTarget, _ contract: ContractCase<ClusterControlContract.Fixture>) async throws {
        let configuration = try target.configuration()
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
@Suite(.serialized) struct RedisCacheContractTests {
    @Test(arguments: RedisTarget.withCluster, ChatCacheContract.cases)
    func chatCache(_ target: RedisTarget, _ contract: ContractCase<any ChatCache>) async throws {
        let client = try target.configuration().makeCommandClient(logger: TestRedis.logger)
        do {
            try await contract.run(against: RedisChatCache(client: client))
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test(arguments: RedisTarget.withCluster, RoomStoreContract.cases)
    func cachingRoomStore(_ target: RedisTarget, _ contract: ContractCase<any RoomStore>) async throws {
        let client = try target.configuration().makeCommandClient(logger: TestRedis.logger)
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
