import Foundation
import Testing

/// chat.v2 across chatd processes on one Redis and MariaDB: presence events of a user's first
/// join and last leave reach v2 members on every server, and seed members never see one.
@Suite(.timeLimit(.minutes(3)))
struct ChatV2ServersTests {
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
            let room = try await LoopbackHTTP.createRoom(port: one, token: tokens["Ann"]!)

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
}
