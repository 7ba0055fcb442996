import ChatCore
import ChatStorage
import ChatTestServices
import Logging
import Testing

/// Backends that go away mid-run, on servers of the tests' own: chat resumes, nothing crashes.
@Suite(.timeLimit(.minutes(3)))
struct BackendFaultTests {
    static let logger = Logger(label: "test.backends")

    @Test func chatResumesAfterRedisRestarts() async throws {
        let redis = OwnServer(.redis)
        try await redis.start()
        let serverID = ServerID.random()
        let selection = try BackendSelection(redis: redis.url, mariadb: nil, elasticsearch: nil)
        var backends = try await selection.makeBackends(server: serverID, logger: Self.logger)
        // This test is about the broker. Users and rooms stay in this process: in Redis (where
        // `--redis` alone keeps them) the restart without persistence would take them along.
        let memory = ChatBackends.inMemory()
        (backends.users, backends.rooms, backends.credentials) = (memory.users, memory.rooms, memory.credentials)
        do {
            try await TestServer.with(backends: backends, server: serverID) { server in
                let room = try await server.createRoom()
                try await server.createUser("Ann")
                try await server.createUser("Bob")
                let ann = try await ChatClient.join(server.joinURL(room: room, user: "Ann"))
                let bob = try await ChatClient.join(server.joinURL(room: room, user: "Bob"))
                ann.send("before the restart")
                #expect(try await bob.waitForMessages(1).map(\.message) == ["before the restart"])

                try await redis.stop()
                try await redis.start()  // empty: no persistence

                // Bob's socket stayed open; posts resume once chatd has reconnected and
                // subscribed again (a post while Redis is down closes its socket with 1013).
                var attempt = 0
                _ = try await eventually("chat did not resume after the Redis restart", timeout: .seconds(30)) {
                    attempt += 1
                    let poster = try? await ChatClient.join(server.joinURL(room: room, user: "Ann"))
                    poster?.send("after the restart \(attempt)")
                    try await Task.sleep(for: .milliseconds(300))
                    await poster?.leave()
                    return bob.received.contains { $0.message.hasPrefix("after the restart") } ? true : nil
                }
                // The empty Redis started the room's numbering again under a new epoch: Bob's
                // server took it for a reset, not for repeats. Seed frames carry no epoch, so
                // the seq a seed client sees starts again at 1.
                let texts = bob.received.map(\.message)
                #expect(Set(texts).count == texts.count, "each message once: \(texts)")
                let after = try #require(bob.received.first { $0.message.hasPrefix("after the restart") })
                #expect(after.seq == 1, "a new epoch after the data loss: \(bob.received.map(\.seq))")
                await ann.leave()
                await bob.leave()
            }
        } catch {
            await redis.remove()
            throw error
        }
        await redis.remove()
    }

    @Test func theAPIAnswers503WhileMariaDBIsDownAndRoomsKeepChatting() async throws {
        let mariadb = OwnServer(.mariadb)
        try await mariadb.start()
        do {
            let migrate = try ChatdProcess(["migrate", "--mariadb", mariadb.url])
            #expect(try await migrate.waitForExit() == 0, "chatd migrate: \(migrate.output)")
            let selection = try BackendSelection(redis: nil, mariadb: mariadb.url, elasticsearch: nil)
            let backends = try await selection.makeBackends(server: .random(), logger: Self.logger)
            try await TestServer.with(backends: backends) { server in
                let room = try await server.createRoom()
                try await server.createUser("Ann")
                try await server.createUser("Bob")
                let ann = try await ChatClient.join(server.joinURL(room: room, user: "Ann"))
                let bob = try await ChatClient.join(server.joinURL(room: room, user: "Bob"))

                try await mariadb.stop()
                for path in ["/v1/chatrooms", "/v1/chatrooms/\(room)/users"] {
                    let reply = try await server.request(.GET, path)
                    #expect(reply.status == 503, "\(path)")
                    #expect(reply.message?.contains("unavailable") == true, "\(path): \(reply.message ?? "no JSON message")")
                }
                ann.send("still chatting")
                #expect(try await bob.waitForMessages(1).map(\.message) == ["still chatting"])

                try await mariadb.start()
                _ = try await eventually("the API did not recover when MariaDB returned", timeout: .seconds(30)) {
                    try await server.request(.GET, "/v1/chatrooms").status == 200 ? true : nil
                }
                await ann.leave()
                await bob.leave()
            }
        } catch {
            await mariadb.remove()
            throw error
        }
        await mariadb.remove()
    }
}
