import ChatCore
import ChatTransport
import Foundation
import Testing

/// Resume and idempotent posts over loopback (in-memory backends with a small recent history,
/// so that older messages are in the chat log only).
@Suite(.timeLimit(.minutes(2)))
struct ChatV2ResumeTests {
    /// A server whose broker keeps `recent` messages per room; the chat log keeps everything.
    private func withRoom(
        recent: Int = 100, resumeLimit: Int = 1_000, posts: Int,
        _ body: (TestServer, RoomID, _ epoch: String, _ ann: ChatClient) async throws -> Void
    ) async throws {
        var backends = ChatBackends.inMemory()
        backends.broker = InMemoryMessageBroker(recentCapacity: recent)
        try await TestServer.with(
            configuration: .init(maximumMessagesPerSecond: nil), backends: backends, service: .init(resumeLimit: resumeLimit)
        ) { server in
            let room = try await server.createRoom()
            for name in ["Ann", "Bob"] { try await server.createUser(name) }
            let ann = try await ChatClient.joinV2(server.joinURL(room: room, user: "Ann"))
            for index in 1...posts { ann.post(id: "a\(index)", text: "m\(index)") }
            let acks = try await ann.waitForEnvelopes(posts, "acks") { $0.type == "ack" }
            #expect(acks.map(\.seq) == (1...posts).map(Int64.init))
            let epoch = try #require(acks.last?.epoch)
            try await body(server, room, epoch, ann)
            await ann.leave()
        }
    }

    private func resumed(_ client: ChatClient) async throws -> Envelope {
        try await client.waitForEnvelope("the resumed frame") { $0.type == "resumed" }
    }

    @Test func aResumeInsideTheStreamReplaysExactlyWhatCameAfterThenGoesLive() async throws {
        try await withRoom(posts: 6) { server, room, epoch, ann in
            let bob = try await ChatClient.joinV2(server.joinURL(room: room, user: "Bob") + "&since=3&epoch=\(epoch)")
            let notice = try await resumed(bob)
            #expect(notice.recovered == true && notice.from == 4 && notice.to == 6)
            ann.post(id: "live", text: "live")
            let messages = try await bob.waitForEnvelopes(4, "messages") { $0.type == "message" }
            #expect(messages.map(\.seq) == [4, 5, 6, 7])
            #expect(try bob.envelopes().firstIndex { $0.type == "resumed" } == 3, "the replay, then resumed, then live")
            await bob.leave()
        }
    }

    @Test func aResumeFromTheLogOnlyIsRecoveredToo() async throws {
        try await withRoom(recent: 3, posts: 8) { server, room, epoch, _ in
            let bob = try await ChatClient.joinV2(server.joinURL(room: room, user: "Bob") + "&since=2&epoch=\(epoch)")
            let notice = try await resumed(bob)
            #expect(notice.recovered == true && notice.from == 3 && notice.to == 8)
            #expect(try bob.messageEnvelopes().map(\.seq) == [3, 4, 5, 6, 7, 8], "3 to 5 from the log, 6 to 8 from the stream")
            await bob.leave()
        }
    }

    @Test func aClientThatMissedNothingIsToldSo() async throws {
        try await withRoom(posts: 3) { server, room, epoch, ann in
            let bob = try await ChatClient.joinV2(server.joinURL(room: room, user: "Bob") + "&since=3&epoch=\(epoch)")
            let notice = try await resumed(bob)
            #expect(notice.recovered == true && notice.from == 4 && notice.to == 3)
            ann.post(id: "next", text: "next")
            let messages = try await bob.waitForEnvelopes(1, "the live message") { $0.type == "message" }
            #expect(messages.map(\.seq) == [4])
            await bob.leave()
        }
    }

    @Test(arguments: ["too old", "other epoch"])
    func whenTheGapCannotBeFilledTheRecentHistoryIsPlayedAndNotRecovered(_ reason: String) async throws {
        try await withRoom(resumeLimit: 3, posts: 8) { server, room, epoch, _ in
            let query = reason == "too old" ? "&since=1&epoch=\(epoch)" : "&since=5&epoch=zzzzzzz1"
            let bob = try await ChatClient.joinV2(server.joinURL(room: room, user: "Bob") + query)
            let notice = try await resumed(bob)
            #expect(notice.recovered == false && notice.from == 1 && notice.to == 8)
            #expect(try bob.messageEnvelopes().map(\.seq) == Array(1...8), "the normal recent history")
            await bob.leave()
        }
    }

    @Test func aSeedClientWithSinceGetsTheReplayInTheSeedsFormAndNoResumedFrame() async throws {
        try await withRoom(posts: 5) { server, room, _, ann in
            let bob = try await ChatClient.join(server.joinURL(room: room, user: "Bob") + "&since=3")
            ann.post(id: "live", text: "live")
            let messages = try await bob.waitForMessages(3)
            #expect(messages.map(\.seq) == [4, 5, 6])
            #expect(bob.undecodable.isEmpty && bob.texts.allSatisfy { !$0.contains(#""type""#) })
            await bob.leave()
        }
    }

    @Test func aRetriedPostIDIsOneMessageAtEveryMemberAndTheSameAck() async throws {
        try await withRoom(posts: 1) { server, room, _, ann in
            let bob = try await ChatClient.joinV2(server.joinURL(room: room, user: "Bob"))
            let cid = try await ChatClient.join(server.joinURL(room: room, user: "Ann"))  // Ann's second tab, seed protocol
            try await bob.waitForEnvelope("history") { $0.type == "message" }
            _ = try await cid.waitForMessages(1)
            ann.post(id: "twice", text: "only once")
            ann.post(id: "twice", text: "only once")
            let acks = try await ann.waitForEnvelopes(3, "acks") { $0.type == "ack" }
            #expect(acks[1].seq == 2 && acks[2].seq == 2 && acks[1].epoch == acks[2].epoch, "the repeat gets the first ack")
            ann.post(id: "after", text: "after")
            try await ann.waitForEnvelope("the next ack") { $0.type == "ack" && $0.id == "after" }
            for client in [ann, bob] {
                let messages = try await client.waitForEnvelopes(3, "messages") { $0.type == "message" }
                #expect(messages.map(\.message) == ["m1", "only once", "after"])
                #expect(messages.map(\.seq) == [1, 2, 3])
            }
            #expect(try await cid.waitForMessages(3).map(\.message) == ["m1", "only once", "after"])
            await bob.leave()
            await cid.leave()
        }
    }
}
