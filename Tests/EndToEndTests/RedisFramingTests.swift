import ChatCore
@testable import ChatStorage
import ChatTestServices
import Foundation
import Logging
import NIOCore
import Testing

/// chatd on Redis, MariaDB and the Elasticsearch stand-in: what a member receives is the
/// publish script's payload framed as it came (byte for byte what the one writer makes), a
/// payload of another format on the channel is dropped, and a resume from a position the Redis
/// stream no longer holds is served from the chat log.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RedisFramingTests {
    /// Redis database 13 (each process test takes its own, and with it its own Pub/Sub
    /// channels, `db13:…`).
    private static let redisDatabase = 13

    private struct Setup {
        let chatd: ChatdProcess
        let port: Int
        let room: Int
        let redis: RedisClient
        let fake: FakeElasticsearch
    }

    private func withChatd(_ body: (Setup) async throws -> Void) async throws {
        let backends = try await SharedBackends.make(redisDatabase: Self.redisDatabase)
        let fake = try await FakeElasticsearch.start()
        let redis = RedisClient(configuration: try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: backends.redisURL)), logger: Logger(label: "test.redis"))
        do {
            try await ChatdProcess.migrate(mariadb: backends.mariadbURL, elasticsearch: fake.url)
            let chatd = try ChatdProcess([
                "--host", "127.0.0.1", "--port", "0", "--redis", backends.redisURL, "--mariadb", backends.mariadbURL, "--elasticsearch", fake.url,
            ])
            let port = try await chatd.listeningPort()
            let token = try await LoopbackHTTP.createUser("Op", port: port)
            let room = try await LoopbackHTTP.createRoom(port: port, token: token)
            try await body(Setup(chatd: chatd, port: port, room: room, redis: redis, fake: fake))
            kill(chatd.process.processIdentifier, SIGTERM)
            #expect(try await chatd.waitForExit() == 0, "log: \(chatd.output)")
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

    private func token(_ name: String, _ setup: Setup) async throws -> String {
        try await LoopbackHTTP.createUser(name, port: setup.port)
    }

    @Test func seedAndV2MembersGetTheOneWritersBytesAndAForeignPayloadIsDropped() async throws {
        try await withChatd { setup in
            let ann = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: setup.port, room: setup.room, token: try await token("Ann", setup)))
            let cid = try await ChatClient.join(LoopbackHTTP.joinURL(port: setup.port, room: setup.room, token: try await token("Cid", setup)))
            try await MultiServerTests.waitForUsers(port: setup.port, room: setup.room, ["Ann", "Cid"])
            for foreign in ["hello from another tool", #"{"chatroom":\#(setup.room),"user":"x","message":"no epoch","timestamp":1,"seq":1}"#] {
                // Pub/Sub channels of a database other than 0 carry its number (RedisKeys.channelNamespace).
                _ = try await setup.redis.command(["PUBLISH", "db\(Self.redisDatabase):chatroom:\(setup.room)", foreign])
            }
            let text = "quote \" backslash \\ newline \n bell \u{07} Zoë 🎉 \"seq\":9,\"epoch\":\"x\"}"
            ann.post(id: "p1", text: text)
            let ack = try await ann.waitForEnvelope("the ack") { $0.type == "ack" }
            let received = try await cid.waitForMessages(1)
            let message = ChatMessage(
                room: RoomID(Int64(setup.room)), user: UserName(trusted: "Ann"), text: text, timestamp: try #require(received.first?.timestamp),
                seq: try #require(ack.seq), epoch: RoomEpoch(rawValue: try #require(ack.epoch))
            )
            #expect(cid.texts == [Self.seedJSON(message)], "the seed member's frame is the one writer's, byte for byte")
            try await ann.waitForEnvelope("her message") { $0.type == "message" }
            #expect(ann.texts.filter { $0.hasPrefix(#"{"type":"message""#) } == [Self.v2JSON(message)], "the v2 member's too")

            // Played from history (decoded from the stream, framed again): the same bytes.
            let bob = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: setup.port, room: setup.room, token: try await token("Bob", setup)))
            try await bob.waitForEnvelope("history") { $0.type == "message" }
            #expect(bob.texts.filter { $0.hasPrefix(#"{"type":"message""#) } == [Self.v2JSON(message)])

            let warnings = setup.chatd.output.components(separatedBy: "not a chat message of this format").count - 1
            #expect(warnings == 1, "the foreign payloads were dropped and logged once: \(setup.chatd.output)")
            #expect(cid.undecodable.isEmpty && ann.texts.allSatisfy { !$0.contains("another tool") && !$0.contains("no epoch") })
            for client in [ann, cid, bob] { await client.leave() }
        }
    }

    @Test func aResumeFromAPositionTheStreamNoLongerHoldsIsServedFromTheChatLog() async throws {
        try await withChatd { setup in
            let ann = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: setup.port, room: setup.room, token: try await token("Ann", setup)))
            for index in 1...8 { ann.post(id: "a\(index)", text: "m\(index)") }
            let acks = try await ann.waitForEnvelopes(8, "acks") { $0.type == "ack" }
            #expect(acks.map(\.seq) == (1...8).map(Int64.init))
            let epoch = try #require(acks.last?.epoch)
            _ = try await eventually("the chat log did not get every message", timeout: .seconds(20)) {
                setup.fake.documents(in: Int64(setup.room)).count == 8 ? true : nil
            }
            // What trimming does to an old room: the stream keeps the newest three (6 to 8).
            _ = try await setup.redis.command(["XTRIM", RedisKeys.recent(RoomID(Int64(setup.room))), "MAXLEN", "3"])
            let kept = try await setup.redis.command(["XLEN", RedisKeys.recent(RoomID(Int64(setup.room)))])
            #expect(kept.int == 3)

            let bobToken = try await token("Bob", setup)
            let bob = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: setup.port, room: setup.room, token: bobToken) + "&since=2&epoch=\(epoch)")
            let notice = try await bob.waitForEnvelope("resumed") { $0.type == "resumed" }
            #expect(notice.recovered == true && notice.from == 3 && notice.to == 8)
            #expect(try bob.messageEnvelopes().map(\.seq) == [3, 4, 5, 6, 7, 8], "3 to 5 from the log, 6 to 8 from the stream")
            #expect(try bob.messageEnvelopes().map(\.message) == (3...8).map { "m\($0)" })
            ann.post(id: "live", text: "live")
            let messages = try await bob.waitForEnvelopes(7, "the live message") { $0.type == "message" }
            #expect(messages.map(\.seq) == Array(3...9), "gap-free into the live messages")

            // Another epoch: the normal recent history (the stream's, completed from the log).
            let lost = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: setup.port, room: setup.room, token: bobToken) + "&since=5&epoch=zzzzzzz1")
            let refused = try await lost.waitForEnvelope("resumed") { $0.type == "resumed" }
            #expect(refused.recovered == false && refused.from == 1 && refused.to == 9)
            for client in [ann, bob, lost] { await client.leave() }
        }
    }

    private static func seedJSON(_ message: ChatMessage) -> String {
        var buffer = ByteBuffer()
        ChatMessageJSON.write(message, into: &buffer)
        return String(buffer: buffer)
    }

    /// `{"type":"message",` and the fields with the epoch, as docs/protocol.md defines it.
    private static func v2JSON(_ message: ChatMessage) -> String {
        var buffer = ByteBuffer(string: #"{"type":"message","#)
        ChatMessageJSON.writeFields(of: message, includingEpoch: true, into: &buffer)
        buffer.writeString("}")
        return String(buffer: buffer)
    }
}
