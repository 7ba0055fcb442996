import ChatCore
@testable import ChatStorage
import Foundation
import Testing

/// Every script call and multi-key command of the adapters touches one Redis Cluster hash slot,
/// computed as Redis does (CRC16/XMODEM of the key, or of its hash tag, mod 16384). The
/// one-node cluster catches declared KEYS of several slots (CROSSSLOT), but Redis 7.0 does not
/// refuse a script that touches an undeclared key or SPUBLISHes to a channel of another slot
/// on the node it runs on; these checks do (one of them asks the one-node cluster).
@Suite struct RedisKeySlotTests {
    /// The slot as the cluster client computes it (``RedisClusterSlot``), checked against
    /// Redis's own `CLUSTER KEYSLOT` below.
    static func slot(_ key: String) -> Int { RedisClusterSlot.of(key) }

    static let rooms: [RoomID] = [1, 7, 63, 64, 65, 1_000, 4_611_686_018_427_387_903].map(RoomID.init(rawValue:))
    /// Names and ids with the characters that could break a tag if they came first.
    static let users = ["ann", "{x}", "a}b", "é{"].map(UserName.init(trusted:))
    static let servers = ["s1", "{evil}", "a/b"].map(ServerID.init(rawValue:))

    static func expectOneSlot(_ keys: [String], _ comment: Comment) {
        let slots = Set(keys.map(slot))
        #expect(slots.count == 1, comment)
    }

    @Test func theSlotFunctionAgreesWithRedis() {
        // CLUSTER KEYSLOT on redis-server 7.0.15.
        #expect(Self.slot("foo") == 12182)
        #expect(Self.slot("chat:room:{chat:p5}:5:seq") == 11776)
        #expect(Self.slot("{chatd:nodes}") == 1780)
        #expect(Self.slot("a{}b") == 13694)
        #expect(Self.slot("{}{x}") == 3257)
        #expect(Self.slot("x{y") == 2740)
    }

    @Test func thePublishScriptTouchesOneSlot() {
        for room in Self.rooms {
            for user in Self.users {
                for postID in [nil, PostID(rawValue: "p-1")] {
                    let keys = RedisPublishScript.keys(room: room, user: user, postID: postID)
                    #expect(keys.count == 5)
                    Self.expectOneSlot(keys + [RedisKeys.channel(room, database: nil, sharded: true)], "publish in room \(room)")
                }
            }
        }
    }

    @Test func thePresenceScriptsTouchOneSlot() {
        for room in Self.rooms {
            for server in Self.servers {
                let partition = RedisKeys.partition(of: room)
                let channel = RedisKeys.presenceChannel(room, database: nil, sharded: true)
                Self.expectOneSlot(RedisPresenceScripts.enterKeys(room: room, server: server) + [channel], "enter in room \(room)")
                let neighbours = Self.rooms.filter { RedisKeys.partition(of: $0) == partition }
                Self.expectOneSlot(
                    RedisPresenceScripts.reapKeys(server: server, partition: partition, rooms: neighbours)
                        + [RedisKeys.presenceChannelPrefix(partition, database: nil, sharded: true) + String(room.rawValue)],
                    "reap of partition \(partition)"
                )
                #expect(RedisKeys.presenceChannelPrefix(partition, database: nil, sharded: true) + String(room.rawValue) == channel)
            }
        }
    }

    @Test func theHeartbeatListIsOneSlot() {
        Self.expectOneSlot([RedisKeys.nodes] + ["a", "{b}", "node-1"].map(RedisKeys.node), "heartbeat keys and their list")
    }

    @Test func roomsSpreadOverEveryPartitionAndPartitionsOverManySlots() {
        #expect(Set((1...Int64(RedisKeys.partitions)).map { RedisKeys.partition(of: RoomID($0)) }).count == RedisKeys.partitions)
        #expect(Set((0..<RedisKeys.partitions).map { Self.slot(RedisKeys.chatLog($0)) }).count == RedisKeys.partitions)
        #expect(RedisKeys.chatLogs.count == RedisKeys.partitions)
    }

    /// What makes the one-node cluster a proof (``RedisTarget/oneNodeCluster``): it is in
    /// cluster mode and refuses what a cluster refuses, and the adapters' scripts pass on it.
    @Test func theOneNodeClusterRefusesCrossSlotKeys() async throws {
        let client = RedisClient(configuration: try RedisTarget.oneNodeCluster.configuration(), logger: TestRedis.logger)
        #expect(Self.slot("{a}") != Self.slot("{b}"))
        let multiKey = await #expect(throws: RedisError.self) { try await client.command(["MGET", "{a}", "{b}"]) }
        #expect(multiKey?.code == "CROSSSLOT")
        let script = await #expect(throws: RedisError.self) { try await client.command(["EVAL", "return 1", "2", "{a}", "{b}"]) }
        #expect(script?.code == "CROSSSLOT")
        await #expect(throws: Never.self) { try await client.command(["MGET", RedisKeys.nodes, RedisKeys.node("x")]) }
        await client.shutdown()
    }

    /// A single Redis keeps the seed's channel names; only sharded Pub/Sub tags them.
    @Test func plainChannelsKeepTheSeedsNames() {
        #expect(RedisKeys.channel(RoomID(7), database: nil, sharded: false) == "chatroom:7")
        #expect(RedisKeys.channel(RoomID(7), database: 3, sharded: false) == "db3:chatroom:7")
        #expect(RedisKeys.presenceChannel(RoomID(7), database: nil, sharded: false) == "chat:presence:events:7")
        #expect(RedisKeys.channel(RoomID(7), database: nil, sharded: true) == "chatroom:{chat:p7}:7")
    }

    /// No script builds a key in Lua: every command's first argument is a KEYS entry, or `key`,
    /// which the scripts only ever bind to one (the presence helper's parameter, the reap's
    /// room hash from its declared list). TIME takes no key; the publish command is an ARGV.
    @Test func everyKeyAScriptTouchesIsDeclared() throws {
        let sources = [
            "publish": RedisPublishScript.source, "enter": RedisPresenceScripts.enter, "leave": RedisPresenceScripts.leave,
            "refresh": RedisPresenceScripts.refresh, "reap": RedisPresenceScripts.reap,
        ]
        let call = try Regex(#"redis\.call\(([^,)]+)(?:,\s*([^,)]+))?"#)
        for (name, source) in sources {
            var calls = 0
            for match in source.matches(of: call) {
                calls += 1
                let command = String(match.output[1].substring ?? "")
                let first = match.output[2].substring.map(String.init) ?? ""
                if command == "'TIME'" { continue }
                if command.hasPrefix("ARGV[") {
                    #expect(first.hasPrefix("ARGV["), "\(name): the publish command's channel comes from ARGV")
                    continue
                }
                #expect(first.hasPrefix("KEYS[") || first == "key", "\(name): \(command) on \(first)")
            }
            #expect(calls > 0)
        }
    }
}
