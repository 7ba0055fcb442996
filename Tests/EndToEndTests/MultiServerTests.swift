import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Several chatd processes as one service: one Redis and one MariaDB shared by all.
@Suite(.timeLimit(.minutes(3)))
struct MultiServerTests {
    @Test func twoServersServeOneRoomALateThirdPlaysHistoryAndAKilledOnesUsersLeave() async throws {
        let backends = try await SharedBackends.make(redisDatabase: 8)
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

            let annToken = try await LoopbackHTTP.createUser("Ann", port: one)
            let bobToken = try await LoopbackHTTP.createUser("Bob", port: two)
            // Ann's token, issued by the first server, is known to the second (one credential table).
            let room = try await LoopbackHTTP.createRoom(port: two, token: annToken)
            #expect(try await LoopbackHTTP.request(.POST, port: one, "/v1/users", body: #"{"name": "Bob"}"#).status == 409, "one user table")
            #expect((try await LoopbackHTTP.request(.GET, port: two, "/v1/chatrooms").json?["ids"] as? [Int]) == [room], "one room table")

            let ann = try await ChatClient.join(LoopbackHTTP.joinURL(port: one, room: room, token: annToken))
            let bob = try await ChatClient.join(LoopbackHTTP.joinURL(port: two, room: room, token: bobToken))
            for port in [one, two] { try await Self.waitForUsers(port: port, room: room, ["Ann", "Bob"]) }

            ann.send("hello from the first server")
            _ = try await bob.waitForMessages(1)
            bob.send("hi from the second")
            let seenByAnn = try await ann.waitForMessages(2)
            let seenByBob = try await bob.waitForMessages(2)
            #expect(seenByAnn == seenByBob, "one order for both servers")
            #expect(seenByAnn.map(\.user) == ["Ann", "Bob"] && seenByAnn.map(\.seq) == [1, 2])

            // A server started later plays the room's history from Redis.
            let third = try ChatdProcess(flags)
            let three = try await third.listeningPort()
            let catToken = try await LoopbackHTTP.createUser("Cat", port: three)
            let cat = try await ChatClient.join(LoopbackHTTP.joinURL(port: three, room: room, token: catToken))
            #expect(try await cat.waitForMessages(2) == seenByAnn)

            // A server killed without a goodbye: the survivors reap its users when its lease runs out.
            kill(second.process.processIdentifier, SIGKILL)
            _ = try await second.waitForExit()
            for port in [one, three] { try await Self.waitForUsers(port: port, room: room, ["Ann", "Cat"], within: 30) }
            ann.send("after the second server died")
            #expect(try await cat.waitForMessages(3).last?.message == "after the second server died")

            await ann.leave()
            await cat.leave()
            for chatd in [first, third] { kill(chatd.process.processIdentifier, SIGTERM) }
            for chatd in [first, third] { #expect(try await chatd.waitForExit() == 0) }
            await backends.drop()
        } catch {
            await backends.drop()
            throw error
        }
    }

    static func waitForUsers(port: Int, room: Int, _ expected: [String], within seconds: Int = 10) async throws {
        var current: [String] = []
        _ = try await eventually("users of room \(room) on :\(port): expected \(expected), still \(current)", timeout: .seconds(seconds)) {
            current = try await LoopbackHTTP.request(.GET, port: port, "/v1/chatrooms/\(room)/users").json?["users"] as? [String] ?? []
            return current == expected ? true : nil
        }
    }
}
