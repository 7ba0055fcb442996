import ChatCore
import ChatStorage
import ChatTestServices
import Foundation
import Logging
import NIOHTTP1
import Testing

/// `--redis` alone as a whole multi-server deployment: users, rooms and tokens in Redis, shared
/// by every chatd on it (docs/operations.md, "Users and rooms in Redis").
@Suite(.timeLimit(.minutes(3)))
struct RedisStoreServersTests {
    /// This suite's Redis database (the process tests each take their own; see SharedBackends).
    static let redisDatabase = 18  // 7 is RedisChatLogIndexerTests'

    /// The issue's seed story on three chatd with `--redis` only: one user table, one room list,
    /// one room across servers, and all of it still there after a chatd restarts.
    @Test func threeServersOnRedisAloneShareUsersRoomsAndChatAndKeepThemAcrossARestart() async throws {
        let backends = try await SharedBackends.make(redisDatabase: Self.redisDatabase)  // its MariaDB database stays unused
        let flags = ["--host", "127.0.0.1", "--port", "0", "--redis", backends.redisURL]
        var servers: [ChatdProcess] = []
        do {
            servers = try (0..<3).map { _ in try ChatdProcess(flags) }
            var ports: [Int] = []
            for server in servers { ports.append(try await server.listeningPort()) }
            let (a, b, c) = (ports[0], ports[1], ports[2])
            #expect(servers[0].output.contains("users, rooms: Redis redis://"), "the startup line names Redis for users and rooms")

            let annToken = try await LoopbackHTTP.createUser("Ann", port: a)
            let taken = try await LoopbackHTTP.request(.POST, port: b, "/v1/users", body: #"{"name": "Ann"}"#)
            #expect(taken.status == 409 && (taken.json?["message"] as? String) == "user name 'Ann' is already taken", "one user table")
            let bobToken = try await LoopbackHTTP.createUser("Bob", port: c)
            // A password set on one server logs in on another; Ann's token from A creates a room on B.
            let carol = try await LoopbackHTTP.request(.POST, port: a, "/v1/users", body: #"{"name": "Carol", "password": "correct horse"}"#)
            #expect(carol.status == 200)
            let login = try await LoopbackHTTP.request(.POST, port: c, "/v1/tokens", body: #"{"name": "Carol", "password": "correct horse"}"#)
            #expect(login.status == 200 && login.json?["token"] is String, "one credential store")
            let room = try await LoopbackHTTP.createRoom(port: b, token: annToken)
            #expect((try await LoopbackHTTP.request(.GET, port: c, "/v1/chatrooms").json?["ids"] as? [Int]) == [room], "one room list")

            let ann = try await ChatClient.join(LoopbackHTTP.joinURL(port: a, room: room, token: annToken))
            let bob = try await ChatClient.join(LoopbackHTTP.joinURL(port: c, room: room, token: bobToken))
            for port in [a, c] { try await MultiServerTests.waitForUsers(port: port, room: room, ["Ann", "Bob"]) }
            ann.send("hello from A")
            _ = try await bob.waitForMessages(1)
            bob.send("hi from C")
            let seenByAnn = try await ann.waitForMessages(2)
            #expect(try await bob.waitForMessages(2) == seenByAnn, "one order on both servers")
            #expect(seenByAnn.map(\.message) == ["hello from A", "hi from C"])
            await ann.leave()
            await bob.leave()

            // A restarts: nothing of users, rooms or tokens was its own.
            kill(servers[0].process.processIdentifier, SIGTERM)
            #expect(try await servers[0].waitForExit() == 0)
            servers[0] = try ChatdProcess(flags)
            let restarted = try await servers[0].listeningPort()
            let listed = try await LoopbackHTTP.request(.GET, port: restarted, "/v1/chatrooms").json?["ids"] as? [Int]
            #expect(listed == [room], "the room is still there")
            #expect(try await LoopbackHTTP.request(.POST, port: restarted, "/v1/users", body: #"{"name": "Bob"}"#).status == 409, "the users too")
            let back = try await ChatClient.join(LoopbackHTTP.joinURL(port: restarted, room: room, token: annToken))
            #expect(try await back.waitForMessages(2) == seenByAnn, "Ann's token still admits her; the room's history plays")
            await back.leave()
            let next = try await LoopbackHTTP.createRoom(port: restarted, token: annToken)
            #expect(next > room, "room ids keep growing across servers and restarts")

            for server in servers { kill(server.process.processIdentifier, SIGTERM) }
            for server in servers { #expect(try await server.waitForExit() == 0) }
            await backends.drop()
        } catch {
            for server in servers { kill(server.process.processIdentifier, SIGKILL) }
            await backends.drop()
            throw error
        }
    }

    /// A Redis outage with `--redis` alone: the API answers 503 with the message a MariaDB
    /// outage gives (BackendFaultTests), and recovers by itself when Redis returns.
    @Test func theAPIAnswers503WhileRedisIsDownAndRecovers() async throws {
        let redis = OwnServer(.redis)
        try await redis.start()
        do {
            let selection = try BackendSelection(redis: redis.url, mariadb: nil, elasticsearch: nil)
            let backends = try await selection.makeBackends(server: .random(), logger: Logger(label: "test.backends"))
            try await TestServer.with(backends: backends) { server in
                let room = try await server.createRoom()
                try await redis.stop()
                let calls: [(HTTPMethod, String, String?)] = [
                    (.POST, "/v1/users", #"{"name": "Zoe"}"#), (.GET, "/v1/chatrooms", nil), (.GET, "/v1/chatrooms/\(room)/users", nil),
                ]
                for (method, path, body) in calls {
                    let reply = try await server.request(method, path, body: body)
                    #expect(reply.status == 503, "\(path)")
                    let expected = "service unavailable: the user and room store (Redis) is unreachable"
                    #expect(reply.message == expected, "\(path): \(reply.message ?? "no JSON message")")
                }
                try await redis.start()  // empty: no persistence, so the room is gone with it
                _ = try await eventually("the API did not recover when Redis returned", timeout: .seconds(30)) {
                    try await server.request(.GET, "/v1/chatrooms").status == 200 ? true : nil
                }
                try await server.createUser("Zoe")
            }
        } catch {
            await redis.remove()
            throw error
        }
        await redis.remove()
    }
}
