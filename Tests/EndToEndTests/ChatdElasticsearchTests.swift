import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import ChatTestServices

/// chatd with `--elasticsearch` as an operator runs it, against the in-process stand-in
/// (Elasticsearch cannot be installed here): migrate, serve, and a SIGTERM during an outage.
@Suite(.timeLimit(.minutes(2)))
struct ChatdElasticsearchTests {
    @Test func migrateThenServeAndFlushTheQueueOnSIGTERMAfterAnOutage() async throws {
        let fake = try await FakeElasticsearch.start()
        do {
            try await Self.migrateThenServe(fake)
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    private static func migrateThenServe(_ fake: FakeElasticsearch) async throws {
        let refused = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--elasticsearch", fake.url])
        #expect(try await refused.waitForExit() != 0)
        #expect(refused.output.contains("chatd migrate --elasticsearch \(fake.url)"), "log: \(refused.output)")

        let migrate = try ChatdProcess(["migrate", "--elasticsearch", fake.url])
        #expect(try await migrate.waitForExit() == 0, "log: \(migrate.output)")
        #expect(fake.with { $0.templates["chat-messages"] } != nil)

        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0"], environment: ["CHATD_ELASTICSEARCH_URL": fake.url])
        let port = try await chatd.listeningPort()
        #expect(chatd.output.contains("chat log: Elasticsearch \(fake.url)"))
        let token = try await LoopbackHTTP.createUser("Op", port: port)
        _ = try await LoopbackHTTP.createRoom(port: port, token: token)
        let client = try await ChatClient.join(LoopbackHTTP.joinURL(port: port, room: 1, token: token))

        client.send("before the outage")
        _ = try await eventually("the first message was not indexed") { fake.documents(in: 1).count == 1 ? true : nil }
        fake.with { $0.unavailable = true }
        for number in 1...5 { client.send("during the outage \(number)") }
        try await client.waitForMessages(6)  // delivered although the archive is down

        kill(chatd.process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(500))
        #expect(chatd.process.isRunning, "shutdown waits for the queue while Elasticsearch is down")
        fake.with { $0.unavailable = false }
        #expect(try await chatd.waitForExit() == 0)
        #expect(fake.documents(in: 1).map(\.message) == ["before the outage"] + (1...5).map { "during the outage \($0)" })
        #expect(fake.with { $0.counters.created } == 6)
        #expect(!chatd.output.contains("left unindexed"), "log: \(chatd.output)")
    }
}
