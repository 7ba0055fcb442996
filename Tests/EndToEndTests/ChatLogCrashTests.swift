import ChatStorage
import ChatTestServices
import Foundation
import Logging
import Testing

/// The durable chat log across a crash: a chatd SIGKILLed while Elasticsearch refuses writes
/// leaves its messages in the Redis stream (some pending with its consumers); the survivor
/// indexes every one of them, once.
@Suite(.timeLimit(.minutes(2)))
struct ChatLogCrashTests {
    @Test func aSIGKILLedChatdsMessagesAreIndexedOnceByTheSurvivor() async throws {
        let backends = try await SharedBackends.make(redisDatabase: 12)
        let fake = try await FakeElasticsearch.start()
        let redis = RedisClient(configuration: try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: backends.redisURL)), logger: Logger(label: "test.redis"))
        do {
            try await ChatdProcess.migrate(mariadb: backends.mariadbURL, elasticsearch: fake.url)
            let flags = [
                "--host", "127.0.0.1", "--port", "0", "--redis", backends.redisURL, "--mariadb", backends.mariadbURL,
                "--elasticsearch", fake.url, "--chat-log-claim-after", "1",
            ]
            let doomed = try ChatdProcess(flags)
            let port = try await doomed.listeningPort()
            let token = try await LoopbackHTTP.createUser("Ann", port: port)
            let room = try await LoopbackHTTP.createRoom(port: port, token: token)
            let ann = try await ChatClient.join(LoopbackHTTP.joinURL(port: port, room: room, token: token))
            fake.with { $0.unavailable = true }
            for number in 1...30 { ann.send("message \(number)") }
            _ = try await ann.waitForMessages(30)  // accepted and delivered while the log is down
            _ = try await eventually("the indexers did not read the stream", timeout: .seconds(20)) {
                let pending = try await RedisChatLogIndexer.figures(on: redis).pending
                return pending > 0 ? true : nil
            }
            kill(doomed.process.processIdentifier, SIGKILL)
            _ = try? await doomed.waitForExit()
            fake.with { $0.unavailable = false }

            let survivor = try ChatdProcess(flags)
            _ = try await survivor.listeningPort()
            _ = try await eventually("the survivor did not index everything", timeout: .seconds(30)) {
                fake.documents(in: Int64(room)).count == 30 ? true : nil
            }
            #expect(fake.documents(in: Int64(room)).map(\.message) == (1...30).map { "message \($0)" })
            #expect(fake.with { $0.counters.created } == 30, "each indexed once")
            _ = try await eventually("entries stayed pending", timeout: .seconds(10)) {
                try await RedisChatLogIndexer.figures(on: redis).pending == 0 ? true : nil
            }
            kill(survivor.process.processIdentifier, SIGTERM)
            #expect(try await survivor.waitForExit() == 0)
        } catch {
            await redis.shutdown()
            await fake.stop()
            await backends.drop()
            throw error
        }
        await redis.shutdown()
        await fake.stop()
        await backends.drop()
    }
}
