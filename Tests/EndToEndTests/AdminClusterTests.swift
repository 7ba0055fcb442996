import ChatCore
import ChatStorage
import ChatTestServices
import ChatTransport
import Foundation
import Logging
import NIOWebSocket
import Testing

/// Two chatd (in process, as ServeCommand wires them) on one Redis: every admin call works
/// across both (docs/operations.md, "Admin API"). Users and rooms are one in-memory store both
/// share, standing in for MariaDB; broker, presence and the cluster control go through Redis.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct AdminClusterTests {
    /// This suite's Redis database (the process tests take 8 to 15 and others; see SharedBackends).
    static let redisDatabase = 11

    static func withTwoServers(_ body: (AdminTestNode, AdminTestNode) async throws -> Void) async throws {
        guard let base = ProcessInfo.processInfo.environment["CHAT_TEST_REDIS_URL"] else {
            throw TestFailure("CHAT_TEST_REDIS_URL must name the test Redis: run scripts/test.sh, which starts it")
        }
        var configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: base))
        configuration.database = redisDatabase
        let flush = RedisClient(configuration: configuration, logger: Logger(label: "test.redis"))
        _ = try await flush.command(["FLUSHDB"])
        await flush.shutdown()
        let url = "redis://\(configuration.host):\(configuration.port)/\(redisDatabase)"
        let shared = ChatBackends.inMemory()
        let rooms = InMemoryRoomStore()
        var nodes: [AdminTestNode] = []
        for _ in 0..<2 {
            let server = ServerID.random()
            var connected = try await BackendSelection(redis: url, mariadb: nil, elasticsearch: nil).connect(server: server, logger: Logger(label: "test"))
            connected.ports.users = shared.users
            connected.ports.rooms = rooms
            nodes.append(
                await AdminTestNode.start(backends: connected.ports, server: server, probes: connected.probes, lifecycle: connected.lifecycle)
            )
        }
        do {
            try await body(nodes[0], nodes[1])
        } catch {
            for node in nodes { await node.stop() }
            throw error
        }
        for node in nodes { await node.stop() }
    }

    @Test func publishReachesMembersOnBothServersAndDisconnectClosesTheUsersSocketsOnBoth() async throws {
        try await Self.withTwoServers { first, second in
            let room = try await first.createRoom()
            for name in ["Ann", "Bob"] { try await first.createUser(name) }
            let annHere = try await ChatClient.join(first.joinURL(room: room, user: "Ann"))
            let annThere = try await ChatClient.join(second.joinURL(room: room, user: "Ann"))
            let bob = try await ChatClient.join(second.joinURL(room: room, user: "Bob"))
            try await Self.waitForPresence(on: first, room: room, ["Ann=2", "Bob=1"])

            let published = try await AdminHTTP.request(
                .POST, port: first.adminPort, "/v1/admin/chatrooms/\(room)/messages", body: #"{"message": "from the operator"}"#
            )
            #expect(published.status == 200)
            for client in [annHere, annThere, bob] {
                #expect(try await client.waitForMessages(1).first?.message == "from the operator")
            }

            let disconnect = try await AdminHTTP.request(
                .POST, port: second.adminPort, "/v1/admin/users/Ann/disconnect", body: #"{"code": 4001, "reason": "go away"}"#
            )
            #expect(disconnect.status == 200 && disconnect.json?["localConnections"] as? Int == 1, "one of Ann's sockets is on the second")
            #expect(try await annThere.waitForClose() == WebSocketErrorCode(codeNumber: 4001))
            #expect(try await annHere.waitForClose() == WebSocketErrorCode(codeNumber: 4001), "the command went through Redis")
            bob.send("Bob stays")
            #expect(try await bob.waitForMessages(2).last?.message == "Bob stays")
            await bob.leave()
        }
    }

    @Test func roomsPresenceAndNodesListBothServers() async throws {
        try await Self.withTwoServers { first, second in
            let room = try await first.createRoom()
            let other = try await first.createRoom()
            for name in ["Ann", "Bob", "Cid"] { try await first.createUser(name) }
            let clients = [
                try await ChatClient.join(first.joinURL(room: room, user: "Ann")),
                try await ChatClient.join(second.joinURL(room: room, user: "Ann")),
                try await ChatClient.join(second.joinURL(room: room, user: "Bob")),
                try await ChatClient.join(second.joinURL(room: other, user: "Cid")),
            ]
            for node in [first, second] {
                try await Self.waitForPresence(on: node, room: room, ["Ann=2", "Bob=1"])
                let rooms = try await eventually("both rooms listed by :\(node.adminPort)") {
                    let listed = try await AdminHTTP.request(.GET, port: node.adminPort, "/v1/admin/chatrooms").json?["chatrooms"] as? [[String: Int]]
                    return listed?.count == 2 ? listed : nil
                }
                #expect(rooms == [["id": room, "users": 2, "connections": 3], ["id": other, "users": 1, "connections": 1]].sorted { $0["id"]! < $1["id"]! })
                let nodes = try await AdminHTTP.request(.GET, port: node.adminPort, "/v1/admin/nodes").json?["nodes"] as? [[String: Any]] ?? []
                #expect(Set(nodes.compactMap { $0["id"] as? String }) == [first.service.server.rawValue, second.service.server.rawValue])
                #expect(Set(nodes.compactMap { $0["address"] as? String }) == ["127.0.0.1:\(first.port)", "127.0.0.1:\(second.port)"])
                #expect(nodes.map { $0["connections"] as? Int ?? -1 }.reduce(0, +) == 4)
            }
            for client in clients { await client.leave() }
        }
    }

    /// Polls the presence of `room` on `node`'s admin API (heartbeats are periodic).
    static func waitForPresence(on node: AdminTestNode, room: Int, _ expected: [String]) async throws {
        var current: [String] = []
        _ = try await eventually("presence of \(room) on :\(node.adminPort): expected \(expected), still \(current)") {
            let reply = try await AdminHTTP.request(.GET, port: node.adminPort, "/v1/admin/chatrooms/\(room)/presence")
            current = (reply.json?["users"] as? [[String: Any]])?.map { "\($0["user"]!)=\($0["connections"]!)" } ?? []
            return current == expected ? true : nil
        }
    }
}
