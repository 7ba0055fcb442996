import ChatCore
import ChatStorage
import ChatTestServices
import Foundation
import Logging
import Testing

/// chat.v2 when Redis stops answering, on a Redis of the test's own.
@Suite(.timeLimit(.minutes(3)))
struct ChatV2FaultTests {
    /// The case: a post that times out towards Redis may still have been published
    /// (the script was sent). The client gets an error envelope, not a 1013, sends the post
    /// again with the same id until it is acked, and the room has it once.
    @Test func aPostThatTimedOutTowardsRedisIsAnErrorAndItsRetryIsOneMessage() async throws {
        let redis = OwnServer(.redis)
        try await redis.start()
        let serverID = ServerID.random()
        let selection = try BackendSelection(redis: redis.url, mariadb: nil, elasticsearch: nil)
        let backends = try await selection.makeBackends(server: serverID, logger: Logger(label: "test.backends"))
        do {
            try await TestServer.with(configuration: .init(maximumMessagesPerSecond: nil), backends: backends, server: serverID) { server in
                let room = try await server.createRoom()
                try await server.createUser("Ann")
                try await server.createUser("Bob")
                let ann = try await ChatClient.joinV2(server.joinURL(room: room, user: "Ann"))
                let bob = try await ChatClient.join(server.joinURL(room: room, user: "Bob"))
                ann.post(id: "before", text: "before")
                _ = try await bob.waitForMessages(1)

                let pidText = try String(contentsOf: redis.directory.appendingPathComponent("server/redis.pid"), encoding: .utf8)
                let pid = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
                kill(pid, SIGSTOP)  // Redis takes the command, and answers nothing
                ann.post(id: "paused", text: "posted while Redis was frozen")
                let error = try await ann.waitForEnvelope("an error once the command timed out", within: 30) { $0.type == "error" }
                kill(pid, SIGCONT)
                #expect(error.id == "paused" && error.code == "unavailable")
                #expect(ann.closeCode == nil, "the socket stays open")

                // Sent again (same id) about every 200 ms until one is acked: while chatd
                // reconnects, a retry may be refused as well.
                var polls = 0
                let ack = try await eventually("the retried post was not acked", timeout: .seconds(30)) { () -> Envelope? in
                    if let ack = try ann.envelopes().first(where: { $0.type == "ack" && $0.id == "paused" }) { return ack }
                    if polls % 40 == 0 { ann.post(id: "paused", text: "posted while Redis was frozen") }
                    polls += 1
                    return nil
                }
                ann.post(id: "after", text: "after")
                let seen = try await bob.waitForMessages(3)
                #expect(seen.map(\.message) == ["before", "posted while Redis was frozen", "after"], "the frozen post once, whichever attempt published it")
                #expect(ack.seq == seen[1].seq)
                await ann.leave()
                await bob.leave()
            }
        } catch {
            await redis.remove()
            throw error
        }
        await redis.remove()
    }
}
