import ChatTestServices
import NIOCore
import Testing

@testable import ChatStorage

/// The cluster client on the test command's 3-master cluster.
@Suite struct RedisClusterClientTests {
    private func client(metrics: MeasuredMetrics = MeasuredMetrics()) throws -> RedisClusterClient {
        RedisClusterClient(configuration: try TestRedisCluster.configuration(), logger: TestRedis.logger, metrics: metrics.factory)
    }

    /// One key per master, found by asking the map.
    private func keysOnEveryMaster(_ client: RedisClusterClient, prefix: String) async throws -> [String] {
        let map = try await client.refreshMap()
        var keys: [BackendEndpoint.Address: String] = [:]
        var index = 0
        while keys.count < map.masters.count {
            let key = "\(prefix):\(index)"
            if let master = map.master(of: RedisClusterSlot.of(key)), keys[master] == nil { keys[master] = key }
            index += 1
        }
        return Array(keys.values)
    }

    @Test func theMapFromASeedCoversEverySlotWithThreeMasters() async throws {
        let client = try client()
        let map = try await client.refreshMap()
        #expect(map.coversEverySlot)
        #expect(map.masters.count == 3)
        #expect(map.replicas.count == 3)
        // The slots computed here are Redis's own.
        for key in ["123456789", "{room:7}:seq", "chat:log", "foo{}{bar}"] {
            #expect(try await client.command(["CLUSTER", "KEYSLOT", key]).int == Int64(RedisClusterSlot.of(key)))
        }
        await client.shutdown()
    }

    @Test func keysOnEveryMasterAreWrittenAndReadThere() async throws {
        let metrics = MeasuredMetrics()
        let client = try client(metrics: metrics)
        let keys = try await keysOnEveryMaster(client, prefix: "cluster-test:\(UInt64.random(in: 0...UInt64.max))")
        for key in keys { try await client.command(["SET", key, "value of \(key)", "PX", "60000"]) }
        for key in keys { #expect(try await client.command(["GET", key]).string == "value of \(key)") }
        // Each key really lives on the master the map names: that node answers without a redirect.
        for key in keys {
            let master = try await client.master(of: RedisClusterSlot.of(key))
            let node = RedisClient(configuration: try TestRedisCluster.configuration().node(master), logger: TestRedis.logger)
            #expect(try await node.command(["GET", key]).string == "value of \(key)")
            await node.shutdown()
        }
        #expect(metrics.int("chatd_redis_cluster_redirects_total") == 0)
        for key in keys { try await client.command(["DEL", key]) }
        await client.shutdown()
    }

    @Test func aCommandSentToTheWrongMasterFollowsMoved() async throws {
        let metrics = MeasuredMetrics()
        let client = try client(metrics: metrics)
        let key = "cluster-test:moved:\(UInt64.random(in: 0...UInt64.max))"
        try await client.command(["SET", key, "here", "PX", "60000"])
        let slot = RedisClusterSlot.of(key)
        let owner = try await client.master(of: slot)
        // Route by a slot another master serves: that master answers MOVED.
        let map = client.slotMap
        let wrongSlot = try #require((0..<RedisClusterSlot.count).first { map.master(of: $0) != owner })
        #expect(try await client.command(["GET", key], slot: wrongSlot).string == "here")
        #expect(metrics.int("chatd_redis_cluster_redirects_total") == 1)
        // A map that is wrong about the slot itself is corrected by the redirect.
        let other = try #require(map.master(of: wrongSlot))
        let corrupt = RedisClusterClient(configuration: try TestRedisCluster.configuration(), logger: TestRedis.logger)
        _ = try await corrupt.refreshMap()
        corrupt.testingMove(slot: slot, to: other)
        #expect(try await corrupt.command(["GET", key]).string == "here")
        #expect(corrupt.slotMap.master(of: slot) == owner)
        try await client.command(["DEL", key])
        await corrupt.shutdown()
        await client.shutdown()
    }

    /// A slot being migrated: the source answers ASK for a key it does not hold, and the
    /// client sends ASKING and the command to the importing master once; the map stays.
    @Test func aSlotInMigrationFollowsAskOnce() async throws {
        let metrics = MeasuredMetrics()
        let client = try client(metrics: metrics)
        let key = "{cluster-test-ask}:\(UInt64.random(in: 0...UInt64.max))"
        let slot = RedisClusterSlot.of(key)
        let map = try await client.refreshMap()
        let source = try #require(map.master(of: slot))
        let target = try #require(map.masters.first { $0 != source })
        let configuration = try TestRedisCluster.configuration()
        let sourceNode = RedisClient(configuration: configuration.node(source), logger: TestRedis.logger)
        let targetNode = RedisClient(configuration: configuration.node(target), logger: TestRedis.logger)
        let sourceID = try #require(try await sourceNode.command(["CLUSTER", "MYID"]).string)
        let targetID = try #require(try await targetNode.command(["CLUSTER", "MYID"]).string)
        try await targetNode.command(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID])
        try await sourceNode.command(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID])
        do {
            try await client.command(["SET", key, "imported", "PX", "60000"])
            #expect(try await client.command(["GET", key]).string == "imported")
            #expect(metrics.int("chatd_redis_cluster_redirects_total") == 2, "each command was asked over once")
            #expect(client.slotMap.master(of: slot) == source, "ASK does not change the map")
            // The key went to the importing master: there it is, under ASKING.
            let connection = try await targetNode.connection()
            _ = try await connection.command(["ASKING"])
            #expect(try await connection.command(["GET", key]).string == "imported")
            _ = try await connection.command(["ASKING"])
            _ = try await connection.command(["DEL", key])
        } catch {
            Issue.record("\(error)")
        }
        try await sourceNode.command(["CLUSTER", "SETSLOT", String(slot), "STABLE"])
        try await targetNode.command(["CLUSTER", "SETSLOT", String(slot), "STABLE"])
        await sourceNode.shutdown()
        await targetNode.shutdown()
        await client.shutdown()
    }

    @Test func scriptsRunOnTheMasterOfTheirFirstKey() async throws {
        let client = try client()
        let script = RedisScript("redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000) return redis.call('GET', KEYS[1])")
        let keys = try await keysOnEveryMaster(client, prefix: "cluster-test:script:\(UInt64.random(in: 0...UInt64.max))")
        // SCRIPT LOAD went to one master; the others answer NOSCRIPT once and get EVAL.
        for key in keys {
            #expect(try await script.run(on: client, keys: [key], arguments: ["ran"]).string == "ran")
            #expect(try await script.run(on: client, keys: [key], arguments: ["again"]).string == "again")
        }
        for key in keys { try await client.command(["DEL", key]) }
        await client.shutdown()
    }

    @Test func noReachableSeedIsAClearError() async throws {
        var configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: "redis+cluster://127.0.0.1:1,127.0.0.1:2"))
        configuration.connectTimeout = .milliseconds(200)
        configuration.commandTimeout = .milliseconds(500)
        let client = RedisClusterClient(configuration: configuration, logger: TestRedis.logger)
        do {
            try await client.command(["GET", "x"])
            Issue.record("a command succeeded without a cluster")
        } catch {
            #expect("\(error)".contains("no node of the Redis Cluster answered"))
        }
        await client.shutdown()
    }
}
