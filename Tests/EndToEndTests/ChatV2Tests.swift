import ChatCore
import ChatTestServices
import ChatTransport
import Foundation
import Synchronization
import Testing

/// The opt-in protocol over loopback with swift-websocket's client: acks, error envelopes that
/// leave the socket open, envelopes beside seed clients that see nothing new.
@Suite(.timeLimit(.minutes(2)))
struct ChatV2Tests {
    @Test func everyPostIsAcknowledgedAndV2MembersGetEnvelopesWhileSeedMembersGetTheSeedsFrames() async throws {
        try await TestServer.with { server in
            let room = try await server.createRoom()
            for name in ["Ann", "Bob", "Cid"] { try await server.createUser(name) }
            let ann = try await ChatClient.joinV2(server.joinURL(room: room, user: "Ann"))
            let bob = try await ChatClient.joinV2(server.joinURL(room: room, user: "Bob"), viaQuery: true)
            let cid = try await ChatClient.join(server.joinURL(room: room, user: "Cid"))
            try await server.waitForUsers(in: room, toBe: ["Ann", "Bob", "Cid"])

            ann.post(id: "a-1", text: "hello")
            ann.post(id: "a-2", text: "second \"quoted\"")
            let acks = try await ann.waitForEnvelopes(2, "acks") { $0.type == "ack" }
            #expect(acks.map(\.id) == ["a-1", "a-2"])
            #expect(acks.map(\.seq) == [1, 2])
            #expect(acks.allSatisfy { $0.epoch != nil })

            for client in [ann, bob] {
                let messages = try await client.waitForEnvelopes(2, "messages") { $0.type == "message" }
                #expect(messages.map(\.message) == ["hello", "second \"quoted\""])
                #expect(messages.map(\.seq) == [1, 2])
                #expect(messages.allSatisfy { $0.user == "Ann" && $0.chatroom == room.rawValue && $0.epoch == acks[0].epoch })
            }
            #expect(try bob.envelopes().allSatisfy { $0.type == "message" || $0.type == "presence" }, "acks go to the poster only")
            let seed = try await cid.waitForMessages(2)
            #expect(seed.map(\.message) == ["hello", "second \"quoted\""])
            #expect(cid.undecodable.isEmpty, "the seed client sees only the seed's frames")
            #expect(cid.texts.allSatisfy { !$0.contains(#""type""#) })
            for client in [ann, bob, cid] { await client.leave() }
        }
    }

    @Test func aUsersFirstJoinAndLastLeaveArePresenceEventsForV2MembersOnly() async throws {
        try await TestServer.with { server in
            let room = try await server.createRoom()
            for name in ["Ann", "Bob", "Cid"] { try await server.createUser(name) }
            let ann = try await ChatClient.joinV2(server.joinURL(room: room, user: "Ann"))
            let cid = try await ChatClient.join(server.joinURL(room: room, user: "Cid"))
            ann.post(id: "a0", text: "live")  // her message back says she is live
            try await ann.waitForEnvelope("her message") { $0.type == "message" }
            let bob1 = try await ChatClient.join(server.joinURL(room: room, user: "Bob"))
            try await ann.waitForEnvelope("Bob's join") { $0.type == "presence" && $0.user == "Bob" && $0.event == "join" }
            let bob2 = try await ChatClient.join(server.joinURL(room: room, user: "Bob"))
            try await server.waitForUsers(in: room, toBe: ["Ann", "Bob", "Cid"])
            await bob1.leave()
            await bob2.leave()
            try await ann.waitForEnvelope("Bob's leave") { $0.type == "presence" && $0.user == "Bob" && $0.event == "leave" }
            #expect(try ann.envelopes().filter { $0.type == "presence" && $0.user == "Bob" }.compactMap(\.event) == ["join", "leave"])
            #expect(cid.undecodable.isEmpty && cid.texts.allSatisfy { !$0.contains(#""type""#) }, "no presence frame for a seed client")
            await ann.leave()
            await cid.leave()
        }
    }

    @Test func v2MembersWithAndWithoutDeflateGetTheSameEnvelopes() async throws {
        try await TestServer.with { server in
            let room = try await server.createRoom()
            for name in ["Ann", "Bob", "Cid"] { try await server.createUser(name) }
            let ann = try await ChatClient.joinV2(server.joinURL(room: room, user: "Ann"))
            let bob = try await ChatClient.joinV2(server.joinURL(room: room, user: "Bob"), deflate: true)
            let cid = try await ChatClient.join(server.joinURL(room: room, user: "Cid"), deflate: true)
            let long = String(repeating: "long enough to be compressed ", count: 20)
            ann.post(id: "a1", text: long)
            ann.post(id: "a2", text: "short")
            let plain = try await ann.waitForEnvelopes(2, "messages") { $0.type == "message" }
            let deflated = try await bob.waitForEnvelopes(2, "messages") { $0.type == "message" }
            #expect(plain == deflated)
            #expect(deflated.map(\.message) == [long, "short"])
            #expect(try await cid.waitForMessages(2).map(\.message) == [long, "short"], "the seed member with deflate too")
            #expect(cid.undecodable.isEmpty)
            #expect(server.counters.deflateSessionsNegotiated == 2, "Bob and Cid took deflate")
            for client in [ann, bob, cid] { await client.leave() }
        }
    }

    @Test func theUpgradeAnswersTheSubprotocolOnlyWhenAskedFor() async throws {
        try await TestServer.with(auth: .open) { server in
            let room = try await server.createRoom()
            try await server.createUser("Ann")
            let path = server.joinPath(room: room, user: "Ann")
            let asked = try await RawHTTP.upgradeHead(port: server.port, path: path, headers: ["Sec-WebSocket-Protocol: other, chat.v2"])
            #expect(asked.hasPrefix("HTTP/1.1 101"))
            #expect(asked.lowercased().contains("sec-websocket-protocol: chat.v2"))
            let seed = try await RawHTTP.upgradeHead(port: server.port, path: path)
            #expect(seed.hasPrefix("HTTP/1.1 101"))
            #expect(!seed.lowercased().contains("sec-websocket-protocol"))
            let other = try await RawHTTP.upgradeHead(port: server.port, path: path, headers: ["Sec-WebSocket-Protocol: chat.v9"])
            #expect(!other.lowercased().contains("sec-websocket-protocol"), "a protocol we do not speak is not chosen")
            let bad = try await RawHTTP.exchange(
                port: server.port,
                "GET \(path)&protocol=3 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            #expect(bad.hasPrefix("HTTP/1.1 400"), "\(bad.prefix(40))")
            #expect(bad.contains(#"{"message":"unsupported protocol '3'"#), "a JSON reason: \(bad)")
        }
    }

    @Test func refusedPostsGetErrorEnvelopesAndTheSocketStaysOpen() async throws {
        try await TestServer.with(configuration: .init(maximumMessagesPerSecond: nil)) { server in
            let room = try await server.createRoom()
            try await server.createUser("Ann")
            let ann = try await ChatClient.joinV2(server.joinURL(room: room, user: "Ann"))
            ann.send("a bare text frame")
            ann.send(#"{"type":"post","id":"bad-type","text":7}"#)
            ann.post(id: "empty", text: "")
            ann.post(id: "long", text: String(repeating: "x", count: 16 * 1024 + 1))
            ann.post(id: "fine", text: "still here")
            let errors = try await ann.waitForEnvelopes(4, "errors") { $0.type == "error" }
            #expect(errors.map(\.id) == [nil, "bad-type", "empty", "long"])
            #expect(errors.map(\.code) == ["bad_envelope", "bad_envelope", "invalid_message", "too_long"])
            #expect(errors.allSatisfy { $0.message?.isEmpty == false })
            let ack = try await ann.waitForEnvelope("the ack of the good post") { $0.type == "ack" }
            #expect(ack.id == "fine" && ack.seq == 1)
            let posted = try await ann.waitForEnvelopes(1, "the message") { $0.type == "message" }
            #expect(posted.map(\.message) == ["still here"], "nothing refused was posted")
            #expect(ann.closeCode == nil)
            await ann.leave()
        }
    }

    @Test func postsOverTheRateAreRefusedAndTheSocketStaysOpen() async throws {
        try await TestServer.with(configuration: .init(maximumMessagesPerSecond: 2)) { server in
            let room = try await server.createRoom()
            try await server.createUser("Ann")
            let ann = try await ChatClient.joinV2(server.joinURL(room: room, user: "Ann"))
            for index in 1...4 { ann.post(id: "p\(index)", text: "burst \(index)") }
            // Sent in one burst: two fit the bucket, the others are refused (each answered).
            let answers = try await ann.waitForEnvelopes(4, "answers") { $0.type == "ack" || $0.type == "error" }
            let refused = answers.filter { $0.type == "error" }
            #expect(!refused.isEmpty)
            #expect(refused.allSatisfy { $0.code == "rate_limited" })
            #expect(Set(answers.compactMap(\.id)) == ["p1", "p2", "p3", "p4"])
            let posted = try await ann.waitForEnvelopes(answers.count - refused.count, "messages") { $0.type == "message" }
            #expect(Set(posted.compactMap(\.message)) == Set(answers.filter { $0.type == "ack" }.compactMap { $0.id.map { "burst \($0.dropFirst())" } }))
            try await Task.sleep(for: .milliseconds(1_100))  // the bucket refills
            ann.post(id: "later", text: "after a pause")
            try await ann.waitForEnvelope("the ack after the pause") { $0.type == "ack" && $0.id == "later" }
            #expect(ann.closeCode == nil)
            await ann.leave()
        }
    }

    @Test func aPostTheBackendCannotTakeIsAnErrorAndMayBeSentAgain() async throws {
        let broker = FailingBroker()
        var backends = ChatBackends.inMemory()
        backends.broker = broker
        try await TestServer.with(backends: backends) { server in
            let room = try await server.createRoom()
            try await server.createUser("Ann")
            let ann = try await ChatClient.joinV2(server.joinURL(room: room, user: "Ann"))
            broker.failing.store(true, ordering: .relaxed)
            ann.post(id: "c1", text: "while Redis is away")
            let error = try await ann.waitForEnvelope("an error") { $0.type == "error" }
            #expect(error.id == "c1" && error.code == "unavailable")
            broker.failing.store(false, ordering: .relaxed)
            ann.post(id: "c1", text: "while Redis is away")
            let ack = try await ann.waitForEnvelope("the ack of the retry") { $0.type == "ack" }
            #expect(ack.id == "c1")
            #expect(ann.closeCode == nil, "the socket stayed open")
            await ann.leave()
        }
    }
}

/// An in-memory broker whose publishes fail while `failing` is set (a backend outage).
final class FailingBroker: MessageBroker {
    struct Outage: Error {}
    let failing = Atomic(false)
    private let inner = InMemoryMessageBroker()

    func publish(_ draft: MessageDraft) async throws -> PublishReceipt {
        if failing.load(ordering: .relaxed) { throw Outage() }
        return try await inner.publish(draft)
    }

    func subscribe(to room: RoomID, deliver: @escaping @Sendable (ChatMessage) -> Void) async throws -> any BrokerSubscription {
        try await inner.subscribe(to: room, deliver: deliver)
    }

    func recentHistory(of room: RoomID, limit: Int) async throws -> [ChatMessage] {
        try await inner.recentHistory(of: room, limit: limit)
    }

    func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange {
        try await inner.messages(of: room, after: position, limit: limit)
    }
}
