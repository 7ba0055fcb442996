import ChatCore
import ChatTestServices
import Foundation
import Logging
import Testing

@testable import ChatStorage

/// chatd on Redis Cluster (`--redis redis+cluster://…`): two processes share a room through the
/// test command's cluster, and a room's master dies and its replica takes over while two
/// servers chat in it (a cluster of the test's own: CHAT_TEST_REDIS_CLUSTER_FAILOVER_PORT).
@Suite(.timeLimit(.minutes(3)))
struct RedisClusterTests {
    /// A MariaDB database of the test's own, so the two chatd share users and rooms.
    private struct Database {
        let url: String
        let base: MariaDBConfiguration
        let name: String

        static func make() async throws -> Database {
            guard let mariadbBase = ProcessInfo.processInfo.environment["CHAT_TEST_MARIADB_URL"] else {
                throw TestFailure("CHAT_TEST_MARIADB_URL must name the test MariaDB: run scripts/test.sh")
            }
            let base = try MariaDBConfiguration(url: mariadbBase)
            let name = "chat_cluster_\(UInt32.random(in: 0...UInt32.max))"
            let admin = MariaDBConnectionPool(configuration: base)
            _ = try await admin.execute("CREATE DATABASE `\(name)` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            await admin.shutdown()
            let database = Database(url: "mariadb://\(base.user):\(base.password)@\(base.host):\(base.port)/\(name)", base: base, name: name)
            let migrate = try ChatdProcess(["migrate", "--mariadb", database.url])
            guard try await migrate.waitForExit() == 0 else { throw TestFailure("chatd migrate: \(migrate.output)") }
            return database
        }

        func drop() async {
            let admin = MariaDBConnectionPool(configuration: base)
            _ = try? await admin.execute("DROP DATABASE IF EXISTS `\(name)`")
            await admin.shutdown()
        }
    }

    /// Two chatd on `redisURL`, Ann on the first and Bob on the second, in one new room.
    private struct Pair {
        let servers: [ChatdProcess]
        let ports: [Int]
        let room: Int
        let ann: ChatClient
        let bob: ChatClient

        /// `redisURL`'s room keys of the new room are deleted first: room ids start at 1 in every
        /// new database, and the shared cluster keeps what earlier runs left.
        static func start(redisURL: String, database: Database) async throws -> Pair {
            let flags = ["--host", "127.0.0.1", "--port", "0", "--redis", redisURL, "--mariadb", database.url, "--presence-lease", "2"]
            let servers = [try ChatdProcess(flags), try ChatdProcess(flags)]
            let ports = [try await servers[0].listeningPort(), try await servers[1].listeningPort()]
            let annToken = try await LoopbackHTTP.createUser("Ann", port: ports[0])
            let bobToken = try await LoopbackHTTP.createUser("Bob", port: ports[1])
            let room = try await LoopbackHTTP.createRoom(port: ports[1], token: annToken)
            let redis = RedisClusterClient(configuration: try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: redisURL)), logger: Logger(label: "test.cluster"))
            let id = RoomID(Int64(room))
            for key in [RedisKeys.sequence(id), RedisKeys.recent(id), RedisKeys.epoch(id)] { try await redis.command(["DEL", key]) }
            await redis.shutdown()
            let ann = try await ChatClient.join(LoopbackHTTP.joinURL(port: ports[0], room: room, token: annToken))
            let bob = try await ChatClient.join(LoopbackHTTP.joinURL(port: ports[1], room: room, token: bobToken))
            for port in ports { try await MultiServerTests.waitForUsers(port: port, room: room, ["Ann", "Bob"]) }
            return Pair(servers: servers, ports: ports, room: room, ann: ann, bob: bob)
        }

        func stop() async throws {
            await ann.leave()
            await bob.leave()
            for chatd in servers { kill(chatd.process.processIdentifier, SIGTERM) }
            for chatd in servers { #expect(try await chatd.waitForExit() == 0, "chatd exits cleanly: \(chatd.output)") }
        }
    }


    @Test
    func twoServersShareARoomThroughTheCluster() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["CHAT_TEST_REDIS_CLUSTER_URL"], "run scripts/test.sh, which starts the cluster")
        let database = try await Database.make()
        do {
            let pair = try await Pair.start(redisURL: url, database: database)
            pair.ann.send("hello from the first server")
            _ = try await pair.bob.waitForMessages(1)
            pair.bob.send("hi from the second")
            let seenByAnn = try await pair.ann.waitForMessages(2)
            let seenByBob = try await pair.bob.waitForMessages(2)
            #expect(seenByAnn == seenByBob, "one order for both servers")
            #expect(seenByAnn.map(\.message) == ["hello from the first server", "hi from the second"])
            #expect(seenByAnn[1].seq == seenByAnn[0].seq + 1)
            try await pair.stop()
            await database.drop()
        } catch {
            await database.drop()
            throw error
        }
    }

    /// The master serving the room's keys is SIGKILLed; its replica is promoted (node timeout
    /// 1 s) and the room goes on: a message after the failover reaches both members.
    @Test
    func aRoomsMasterDiesAndItsReplicaCarriesTheRoomOn() async throws {
        try await OwnCluster.run { cluster in try await Self.failover(on: cluster) }
    }

    private static func failover(on cluster: OwnCluster) async throws {
        let url = cluster.url
        let database = try await Database.make()
        var configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: url))
        configuration.connectTimeout = .milliseconds(500)
        let admin = RedisClusterClient(configuration: configuration, logger: Logger(label: "test.cluster"))
        var started: Pair?
        do {
            let pair = try await Pair.start(redisURL: url, database: database)
            started = pair
            pair.ann.send("before the failover")
            #expect(try await pair.bob.waitForMessages(1).last?.message == "before the failover")

            // The master of the publish script's routing key (its first KEY).
            let slot = RedisClusterSlot.of(RedisKeys.sequence(RoomID(Int64(pair.room))))
            let victim = try await admin.refreshMap().master(of: slot)
            let victimPort = try #require(victim?.port)
            try cluster.kill(victimPort)
            // The replica takes over once the others agree the master failed.
            let promoted = try await eventually("no replica took over slot \(slot)", timeout: .seconds(30)) { () async -> BackendEndpoint.Address? in
                guard let map = try? await admin.refreshMap(), map.coversEverySlot, let master = map.master(of: slot), master != victim else { return nil }
                return master
            }
            #expect(promoted.port != victimPort)

            pair.ann.send("after the failover")
            let seenByBob = try await pair.bob.waitForMessages(2, within: 30)
            let seenByAnn = try await pair.ann.waitForMessages(2, within: 30)
            #expect(seenByBob.last?.message == "after the failover")
            #expect(seenByAnn.last?.message == "after the failover")
            pair.bob.send("bob after the failover")
            #expect(try await pair.ann.waitForMessages(3, within: 30).last?.message == "bob after the failover")
            try await pair.stop()
        } catch {
            let logs = started?.servers.map { String($0.output.suffix(3_000)) } ?? []
            Issue.record("\(error); the servers' logs:\n\(logs.joined(separator: "\n---\n"))")
        }
        await admin.shutdown()
        await database.drop()
    }
}
