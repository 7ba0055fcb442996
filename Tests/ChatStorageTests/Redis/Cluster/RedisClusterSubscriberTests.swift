import ChatTestServices
import NIOCore
import Synchronization
import Testing

@testable import ChatStorage

/// Payloads received, by channel.
private final class Received: Sendable {
    private let state = Mutex<[String: [String]]>([:])
    func add(_ channel: String, _ payload: ByteBuffer) { state.withLock { $0[channel, default: []].append(String(buffer: payload)) } }
    func of(_ channel: String) -> [String] { state.withLock { $0[channel] ?? [] } }
}

@Suite struct RedisClusterSubscriberTests {
    @Test func shardChannelsAreSubscribedOnTheMasterOfTheirSlot() async throws {
        let configuration = try TestRedisCluster.configuration()
        let client = RedisClusterClient(configuration: configuration, logger: TestRedis.logger)
        let subscriber = RedisClusterSubscriber(configuration: configuration, sharded: true, logger: TestRedis.logger)
        let map = try await client.refreshMap()
        // One channel per master.
        let prefix = "cluster-test:channel:\(UInt64.random(in: 0...UInt64.max))"
        var channels: [BackendEndpoint.Address: String] = [:]
        var index = 0
        while channels.count < map.masters.count {
            let channel = "\(prefix):\(index)"
            if let master = map.master(of: RedisClusterSlot.of(channel)), channels[master] == nil { channels[master] = channel }
            index += 1
        }
        let received = Received()
        for channel in channels.values {
            _ = try await subscriber.subscribe(to: channel) { received.add(channel, $0) }
        }
        for (master, channel) in channels {
            #expect(subscriber.placement[channel] == master)
            #expect(try await client.command(["SPUBLISH", channel, "to \(channel)"]).int == 1, "one subscriber, on the slot's master")
        }
        let all = try await eventually(within: .seconds(10)) { channels.values.allSatisfy { received.of($0) == ["to \($0)"] } }
        #expect(all)
        await subscriber.shutdown()
        await client.shutdown()
    }

    @Test func aPlainChannelIsHeardFromAPublishOnAnyNode() async throws {
        let configuration = try TestRedisCluster.configuration()
        let client = RedisClusterClient(configuration: configuration, logger: TestRedis.logger)
        let subscriber = RedisClusterSubscriber(configuration: configuration, sharded: false, logger: TestRedis.logger)
        let channel = "cluster-test:control:\(UInt64.random(in: 0...UInt64.max))"
        let received = Received()
        let id = try await subscriber.subscribe(to: channel) { received.add(channel, $0) }
        try await client.command(["PUBLISH", channel, "everyone"])
        #expect(try await eventually(within: .seconds(10)) { received.of(channel) == ["everyone"] })
        subscriber.unsubscribe(from: channel, id: id)
        #expect(subscriber.placement[channel] == nil)
        await subscriber.shutdown()
        await client.shutdown()
    }

    /// A slot moved to another master: Redis pushes `sunsubscribe` for the slot's shard
    /// channels, and the subscriber subscribes them again on the new master.
    @Test func aMovedSlotsChannelIsSubscribedOnItsNewMaster() async throws {
        let configuration = try TestRedisCluster.configuration()
        let client = RedisClusterClient(configuration: configuration, logger: TestRedis.logger)
        let subscriber = RedisClusterSubscriber(configuration: configuration, sharded: true, logger: TestRedis.logger)
        // A slot of its own (no key lives in it), so moving it needs no MIGRATE.
        let channel = "{cluster-test-move-\(UInt64.random(in: 0...UInt64.max))}:room"
        let slot = RedisClusterSlot.of(channel)
        let map = try await client.refreshMap()
        let source = try #require(map.master(of: slot))
        let target = try #require(map.masters.first { $0 != source })
        let received = Received()
        _ = try await subscriber.subscribe(to: channel) { received.add(channel, $0) }
        #expect(subscriber.placement[channel] == source)

        let nodes = map.masters.map { RedisClient(configuration: configuration.node($0), logger: TestRedis.logger) }
        func id(of node: BackendEndpoint.Address) async throws -> String {
            try #require(try await nodes[map.masters.firstIndex(of: node)!].command(["CLUSTER", "MYID"]).string)
        }
        // As redis-cli --cluster reshard does: IMPORTING on the new owner and MIGRATING on the
        // old, then NODE on the new owner first (only an importing owner bumps its config epoch;
        // without it the old owner's gossip, at the higher epoch, could win the slot back while
        // the SETSLOTs spread), then on the others.
        func move(from owner: BackendEndpoint.Address, to newOwner: BackendEndpoint.Address) async throws {
            let (ownerID, newOwnerID) = (try await id(of: owner), try await id(of: newOwner))
            let index = { (node: BackendEndpoint.Address) in map.masters.firstIndex(of: node)! }
            try await nodes[index(newOwner)].command(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", ownerID])
            try await nodes[index(owner)].command(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", newOwnerID])
            let ordered = map.masters.indices.sorted { map.masters[$0] == newOwner && map.masters[$1] != newOwner }
            for index in ordered { try await nodes[index].command(["CLUSTER", "SETSLOT", String(slot), "NODE", newOwnerID]) }
        }
        try await move(from: source, to: target)
        do {
            #expect(try await eventually(within: .seconds(30)) { subscriber.placement[channel] == target })
            let delivered = try await eventually(within: .seconds(10)) {
                // While the test's own SETSLOTs spread, a node may still answer MOVED: try again.
                _ = try? await client.command(["SPUBLISH", channel, "after the move"])
                return received.of(channel).contains("after the move")
            }
            #expect(delivered, "the channel is carried by the new master")
        } catch {
            Issue.record("\(error)")
        }
        try await move(from: target, to: source)
        #expect(try await eventually(within: .seconds(30)) { subscriber.placement[channel] == source })
        for node in nodes { await node.shutdown() }
        await subscriber.shutdown()
        await client.shutdown()
    }
}

/// One Redis with shard channels (a one-node cluster's case): ``RedisSubscriber`` with
/// `sharded` SSUBSCRIBEs, and SUNSUBSCRIBE's answer, a push, leaves the replies in step.
@Suite struct RedisShardedSubscriberTests {
    @Test func shardChannelsOnOneNodeAndSunsubscribeKeepsRepliesInStep() async throws {
        let configuration = try TestRedisCluster.configuration()
        let client = RedisClusterClient(configuration: configuration, logger: TestRedis.logger)
        let prefix = "{cluster-test-sharded-\(UInt64.random(in: 0...UInt64.max))}"
        let (first, second) = ("\(prefix):a", "\(prefix):b")  // one slot, one node
        let node = try await client.master(of: RedisClusterSlot.of(first))
        let subscriber = RedisSubscriber(configuration: configuration.node(node), sharded: true, logger: TestRedis.logger)
        let received = Received()
        let id = try await subscriber.subscribe(to: first) { received.add(first, $0) }
        #expect(try await client.command(["SPUBLISH", first, "one"]).int == 1)
        #expect(try await eventually(within: .seconds(10)) { received.of(first) == ["one"] })
        subscriber.unsubscribe(from: first, id: id)
        // Its `sunsubscribe` answer arrives as a push; the next SSUBSCRIBE still gets its own reply.
        _ = try await subscriber.subscribe(to: second) { received.add(second, $0) }
        #expect(try await client.command(["SPUBLISH", first, "gone"]).int == 0, "unsubscribed")
        #expect(try await client.command(["SPUBLISH", second, "two"]).int == 1)
        #expect(try await eventually(within: .seconds(10)) { received.of(second) == ["two"] })
        #expect(received.of(first) == ["one"])
        #expect(subscriber.client.isConnected, "the connection stayed in step")
        await subscriber.shutdown()
        await client.shutdown()
    }
}
