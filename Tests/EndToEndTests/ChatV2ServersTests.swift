import Foundation
import Testing

/// chat.v2 across chatd processes on one Redis and MariaDB: presence events of a user's first
/// join and last leave reach v2 members on every server, and seed members never see one.
@Suite(.timeLimit(.minutes(3)))
struct ChatV2ServersTests {
    /// Creates rooms until one has id `number`. Redis Pub/Sub channels are shared by every
    /// database of a server, so tests that run at once on one Redis must not share room ids
    /// (every test's fresh MariaDB starts counting rooms at 1).
    static func createRoom(numbered number: Int, port: Int, token: String) async throws -> Int {
        var room = 0
        while room < number { room = try await LoopbackHTTP.createRoom(port: port, token: token) }
        return room
    }

    @Test func presenceEventsCrossServersAndSeedClientsSeeNone() async throws {
        let backends = try await SharedBackends.make(redisDatabase: 14)
        do {
            let migrate = try ChatdProcess(["migrate", "--mariadb", backends.mariadbURL])
            #expect(try await migrate.waitForExit() == 0, "chatd migrate: \(migrate.output)")
            let flags = [
                "--host", "127.0.0.1", "--port", "0", "--redis", backends.redisURL, "--mariadb", backends.mariadbURL,
                "--presence-lease", "2",
            ]
            let first = try ChatdProcess(flags)
            let second = try ChatdProcess(flags)
            let (one, two) = (try await first.listeningPort(), try await second.listeningPort())
            var tokens: [String: String] = [:]
            for name in ["Ann", "Bob", "Cid", "Dan"] { tokens[name] = try await LoopbackHTTP.createUser(name, port: one) }
            let room = try await Self.createRoom(numbered: 6, port: one, token: tokens["Ann"]!)

            let ann = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: one, room: room, token: tokens["Ann"]!))
            // Her own message back says she is live: presence events go to live members.
            ann.post(id: "a0", text: "first")
            try await ann.waitForEnvelope("her message") { $0.type == "message" }
            let cid = try await ChatClient.join(LoopbackHTTP.joinURL(port: two, room: room, token: tokens["Cid"]!))
            try await MultiServerTests.waitForUsers(port: one, room: room, ["Ann", "Cid"])
            try await ann.waitForEnvelope("Cid's join") { $0.type == "presence" && $0.user == "Cid" && $0.event == "join" }

            // Bob in two tabs on two servers: one join, and one leave with the last tab.
            let bobTab1 = try await ChatClient.join(LoopbackHTTP.joinURL(port: two, room: room, token: tokens["Bob"]!))
            try await ann.waitForEnvelope("Bob's join") { $0.type == "presence" && $0.user == "Bob" && $0.event == "join" }
            let bobTab2 = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: one, room: room, token: tokens["Bob"]!))
            try await MultiServerTests.waitForUsers(port: one, room: room, ["Ann", "Bob", "Cid"])
            await bobTab1.leave()
            ann.post(id: "a1", text: "Bob still has a tab")
            try await bobTab2.waitForEnvelope("Ann's message") { $0.type == "message" }
            await bobTab2.leave()
            try await ann.waitForEnvelope("Bob's leave") { $0.type == "presence" && $0.user == "Bob" && $0.event == "leave" }
            let bobEvents = try ann.envelopes().filter { $0.type == "presence" && $0.user == "Bob" }.compactMap(\.event)
            #expect(bobEvents == ["join", "leave"], "the second tab and the first tab's close were no news")

            // A server killed with a member on it: the survivors reap them, and that is a leave too.
            let dan = try await ChatClient.join(LoopbackHTTP.joinURL(port: two, room: room, token: tokens["Dan"]!))
            try await ann.waitForEnvelope("Dan's join") { $0.type == "presence" && $0.user == "Dan" && $0.event == "join" }
            kill(second.process.processIdentifier, SIGKILL)
            _ = try await second.waitForExit()
            try await ann.waitForEnvelope("Dan's leave after the reap", within: 30) { $0.type == "presence" && $0.user == "Dan" && $0.event == "leave" }
            _ = dan

            // Presence events take no seq: the room's numbering is the messages' alone.
            let acks = try await ann.waitForEnvelopes(2, "acks") { $0.type == "ack" }
            #expect(acks.map(\.seq) == [1, 2])
            #expect(cid.undecodable.isEmpty && cid.texts.allSatisfy { !$0.contains(#""type""#) }, "the seed client saw no presence frame")
            #expect(try await cid.waitForMessages(2).map(\.seq) == [1, 2])

            await ann.leave()
            kill(first.process.processIdentifier, SIGTERM)
            #expect(try await first.waitForExit() == 0)
            await backends.drop()
        } catch {
            await backends.drop()
            throw error
        }
    }

    @Test func aRetriedPostIDIsOneMessageOnEveryServerAndAResumeReplaysTheStream() async throws {
        let backends = try await SharedBackends.make(redisDatabase: 15)
        do {
            let migrate = try ChatdProcess(["migrate", "--mariadb", backends.mariadbURL])
            #expect(try await migrate.waitForExit() == 0, "chatd migrate: \(migrate.output)")
            let flags = ["--host", "127.0.0.1", "--port", "0", "--redis", backends.redisURL, "--mariadb", backends.mariadbURL]
            let first = try ChatdProcess(flags)
            let second = try ChatdProcess(flags)
            let (one, two) = (try await first.listeningPort(), try await second.listeningPort())
            let annToken = try await LoopbackHTTP.createUser("Ann", port: one)
            let bobToken = try await LoopbackHTTP.createUser("Bob", port: two)
            let room = try await Self.createRoom(numbered: 9, port: one, token: annToken)

            let ann = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: one, room: room, token: annToken))
            let bob = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: two, room: room, token: bobToken))
            try await MultiServerTests.waitForUsers(port: two, room: room, ["Ann", "Bob"])
            ann.post(id: "r1", text: "once")
            let firstAck = try await ann.waitForEnvelope("the first ack") { $0.type == "ack" }
            ann.post(id: "r1", text: "once")  // the ack was lost, say: sent again
            ann.post(id: "r2", text: "twice")
            let acks = try await ann.waitForEnvelopes(3, "acks") { $0.type == "ack" }
            #expect(acks[1] == firstAck, "the repeat gets the first ack")
            #expect(acks[2].seq == 2 && acks[2].epoch == firstAck.epoch)
            let epoch = try #require(firstAck.epoch)
            let seenByBob = try await bob.waitForEnvelopes(2, "messages") { $0.type == "message" }
            #expect(seenByBob.map(\.message) == ["once", "twice"] && seenByBob.map(\.seq) == [1, 2])
            await bob.leave()

            ann.post(id: "r3", text: "while Bob was away")
            ann.post(id: "r4", text: "still away")
            try await ann.waitForEnvelopes(5, "acks") { $0.type == "ack" }
            // Bob comes back on the other server with what he holds.
            let back = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: one, room: room, token: bobToken) + "&since=2&epoch=\(epoch)")
            let notice = try await back.waitForEnvelope("resumed") { $0.type == "resumed" }
            #expect(notice.recovered == true && notice.from == 3 && notice.to == 4)
            #expect(try back.messageEnvelopes().map(\.seq) == [3, 4], "exactly what he missed")
            let stranger = try await ChatClient.joinV2(LoopbackHTTP.joinURL(port: two, room: room, token: bobToken) + "&since=2&epoch=zzzzzzz1")
            let refused = try await stranger.waitForEnvelope("resumed") { $0.type == "resumed" }
            #expect(refused.recovered == false && refused.from == 1 && refused.to == 4)

            for client in [ann, back, stranger] { await client.leave() }
            for chatd in [first, second] { kill(chatd.process.processIdentifier, SIGTERM) }
            for chatd in [first, second] { #expect(try await chatd.waitForExit() == 0) }
            await backends.drop()
        } catch {
            await backends.drop()
            throw error
        }
    }
}
