import ChatStorage
import NIOCore
import Testing

@Suite struct RedisClusterSlotTests {
    @Test func crc16MatchesTheClusterSpecification() {
        // The specification's test vector: CRC16-XMODEM("123456789") = 0x31C3 = 12739.
        #expect(RedisClusterSlot.of("123456789") == 12739)
        #expect(RedisClusterSlot.of("") == 0)
        #expect(RedisClusterSlot.of("foo") == 12182)  // CLUSTER KEYSLOT foo
    }

    @Test func aHashTagDecidesTheSlot() {
        #expect(RedisClusterSlot.of("{user1000}.following") == RedisClusterSlot.of("{user1000}.followers"))
        #expect(RedisClusterSlot.of("{user1000}.following") == RedisClusterSlot.of("user1000"))
        // The first {…} counts, and only when not empty: "foo{}{bar}" hashes whole.
        #expect(RedisClusterSlot.of("foo{}{bar}") != RedisClusterSlot.of("bar"))
        #expect(RedisClusterSlot.of("foo{{bar}}zap") == RedisClusterSlot.of("{bar"))
        #expect(RedisClusterSlot.of("foo{bar}{zap}") == RedisClusterSlot.of("bar"))
        #expect(RedisClusterSlot.of("{unclosed") != RedisClusterSlot.of("unclosed"))
    }

    @Test func commandsAreRoutedByTheirKey() {
        #expect(RedisClusterSlot.routingKey(of: ["GET", "a"]) == "a")
        #expect(RedisClusterSlot.routingKey(of: ["set", "b", "1", "PX", "10"]) == "b")
        #expect(RedisClusterSlot.routingKey(of: ["EVALSHA", "abc", "2", "k1", "k2", "arg"]) == "k1")
        #expect(RedisClusterSlot.routingKey(of: ["EVAL", "return 1", "0", "arg"]) == nil)
        #expect(RedisClusterSlot.routingKey(of: ["XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "BLOCK", "100", "STREAMS", "s", ">"]) == "s")
        #expect(RedisClusterSlot.routingKey(of: ["XGROUP", "CREATE", "s", "g", "0"]) == "s")
        #expect(RedisClusterSlot.routingKey(of: ["SPUBLISH", "chatroom:7", "x"]) == "chatroom:7")
        #expect(RedisClusterSlot.routingKey(of: ["PUBLISH", "chatd:control", "x"]) == nil)
        #expect(RedisClusterSlot.routingKey(of: ["PING"]) == nil)
        #expect(RedisClusterSlot.routingKey(of: ["SCRIPT", "LOAD", "return 1"]) == nil)
    }
}

@Suite struct RedisClusterSlotMapTests {
    private func bulk(_ text: String) -> RESPValue {
        var buffer = ByteBufferAllocator().buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        return .bulkString(buffer)
    }

    private func node(_ port: Int, role: String, health: String = "online", endpoint: String = "127.0.0.1") -> RESPValue {
        .array([
            bulk("id"), bulk("n\(port)"), bulk("port"), .integer(Int64(port)), bulk("ip"), bulk("10.0.0.1"),
            bulk("endpoint"), bulk(endpoint), bulk("role"), bulk(role), bulk("replication-offset"), .integer(42), bulk("health"), bulk(health),
        ])
    }

    private func shard(_ ranges: [Int64], _ nodes: [RESPValue]) -> RESPValue {
        .array([bulk("slots"), .array(ranges.map { .integer($0) }), bulk("nodes"), .array(nodes)])
    }

    @Test func aShardsReplyMapsEverySlotToItsMaster() throws {
        let reply = RESPValue.array([
            shard([0, 5460], [node(7001, role: "master"), node(7004, role: "replica")]),
            shard([5461, 10000, 10001, 10922], [node(7005, role: "replica"), node(7002, role: "master")]),
            shard([10923, 16383], [node(7003, role: "master", endpoint: "?"), node(7006, role: "replica")]),
        ])
        let map = try RedisClusterSlotMap(shards: reply, tls: false, answeredBy: .init(host: "seed", port: 7001))
        #expect(map.coversEverySlot)
        #expect(map.master(of: 0) == .init(host: "127.0.0.1", port: 7001))
        #expect(map.master(of: 5460) == .init(host: "127.0.0.1", port: 7001))
        #expect(map.master(of: 5461) == .init(host: "127.0.0.1", port: 7002))
        #expect(map.master(of: 10922) == .init(host: "127.0.0.1", port: 7002))
        // An unknown endpoint ("?") falls back to the node's ip.
        #expect(map.master(of: 16383) == .init(host: "10.0.0.1", port: 7003))
        #expect(map.masters.count == 3 && map.replicas.count == 3)
    }

    @Test func aFailedMasterGivesWayToThePromotedOne() throws {
        let reply = RESPValue.array([
            shard([0, 16383], [node(7001, role: "master", health: "failed"), node(7004, role: "master")])
        ])
        let map = try RedisClusterSlotMap(shards: reply, tls: false, answeredBy: .init(host: "127.0.0.1", port: 7004))
        #expect(map.master(of: 100) == .init(host: "127.0.0.1", port: 7004))
        #expect(map.replicas == [.init(host: "127.0.0.1", port: 7001)])
    }

    @Test func uncoveredSlotsAndMovesAreKept() throws {
        var map = try RedisClusterSlotMap(
            shards: .array([shard([0, 99], [node(7001, role: "master")])]), tls: false, answeredBy: .init(host: "127.0.0.1", port: 7001))
        #expect(!map.coversEverySlot)
        #expect(map.master(of: 100) == nil)
        map.move(slot: 100, to: .init(host: "127.0.0.1", port: 7002))
        #expect(map.master(of: 100) == .init(host: "127.0.0.1", port: 7002))
        #expect(map.master(of: 99) == .init(host: "127.0.0.1", port: 7001))
    }

    @Test func aMalformedReplyIsAnError() {
        #expect(throws: RedisError.self) {
            try RedisClusterSlotMap(shards: .integer(1), tls: false, answeredBy: .init(host: "h", port: 1))
        }
        #expect(throws: RedisError.self) {
            try RedisClusterSlotMap(shards: .array([shard([0, 20000], [node(7001, role: "master")])]), tls: false, answeredBy: .init(host: "h", port: 1))
        }
    }
}

@Suite struct RedisClusterURLTests {
    @Test func aClusterURLNamesItsSeedsAndShardsPubSub() throws {
        let endpoint = try BackendEndpoint(kind: .redis, url: "redis+cluster://app:secret@10.0.0.1:7001,10.0.0.2,[::1]:7003/0")
        #expect(endpoint.isCluster)
        #expect(endpoint.addresses == [.init(host: "10.0.0.1", port: 7001), .init(host: "10.0.0.2", port: 6379), .init(host: "::1", port: 7003)])
        #expect(endpoint.description == "redis+cluster://app:***@10.0.0.1:7001,10.0.0.2:6379,[::1]:7003/0")
        let configuration = try RedisConfiguration(endpoint: endpoint)
        #expect(configuration.isCluster && configuration.shardedPubSub)
        #expect(configuration.database == nil && configuration.user == "app" && configuration.password == "secret")
        #expect(configuration.description == "redis+cluster://app:***@10.0.0.1:7001,10.0.0.2:6379,[::1]:7003")
        #expect(configuration.tls == nil)
    }

    @Test func tlsOnAClusterIsTheRedissScheme() throws {
        let configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: "rediss+cluster://a:7001,b:7002?ca=/tmp/ca.pem"))
        #expect(configuration.tls?.certificateAuthorityFile == "/tmp/ca.pem")
        #expect(configuration.clusterNodes.count == 2)
    }

    @Test func aClusterHasOnlyDatabaseZero() throws {
        let endpoint = try BackendEndpoint(kind: .redis, url: "redis+cluster://a:7001/3")
        #expect(throws: BackendEndpoint.InvalidURL.self) { try RedisConfiguration(endpoint: endpoint) }
        do {
            _ = try RedisConfiguration(endpoint: endpoint)
        } catch {
            #expect(error.description.contains("only database 0"))
        }
    }

    @Test func severalHostsNeedTheClusterScheme() {
        do {
            _ = try BackendEndpoint(kind: .redis, url: "redis://a:7001,b:7002")
            Issue.record("accepted two hosts without +cluster")
        } catch {
            #expect(error.description.contains("redis+cluster://"))
        }
        #expect(throws: BackendEndpoint.InvalidURL.self) { try BackendEndpoint(kind: .mariadb, url: "mariadb://a,b/chat") }
        #expect(throws: BackendEndpoint.InvalidURL.self) { try BackendEndpoint(kind: .redis, url: "redis+cluster://a:7001,,b") }
        #expect(throws: BackendEndpoint.InvalidURL.self) { try BackendEndpoint(kind: .redis, url: "redis+cluster://a:99999") }
    }

    @Test func aSingleRedisStaysAsItWas() throws {
        let configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: "redis://h:6390/2"))
        #expect(!configuration.isCluster && !configuration.shardedPubSub && configuration.database == 2)
        #expect(configuration.description == "redis://h:6390/2")
    }
}
