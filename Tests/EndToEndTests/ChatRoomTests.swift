import ChatCore
import ChatTransport
import Foundation
import Testing

/// The user stories of the seed, over loopback with real HTTP and WebSocket clients.
@Suite(.timeLimit(.minutes(2)))
struct ChatRoomTests {
    /// The seed's own story, as the seed ran it (`--auth none`) and with tokens (the default).
    @Test(arguments: [AccessSettings.Mode.open, .token])
    func twoUsersChatLeaveAndRejoinWithHistory(_ auth: AccessSettings.Mode) async throws {
        try await TestServer.with(auth: auth) { server in
            let room = try await server.createRoom()
            try await server.createUser("John")
            try await server.createUser("Master")
            let john = try await ChatClient.join(server.joinURL(room: room, user: "John"))
            let master = try await ChatClient.join(server.joinURL(room: room, user: "Master"))
            try await server.waitForUsers(in: room, toBe: ["John", "Master"])

            for (index, client) in [john, master, john, master].enumerated() {
                client.send("message \(index)")
                // Each waits for its own echo so the four are posted in this order.
                try await client.waitForMessages(index + 1)
            }
            let seenByJohn = try await john.waitForMessages(4)
            let seenByMaster = try await master.waitForMessages(4)
            #expect(seenByJohn == seenByMaster)
            #expect(seenByJohn.map(\.message) == ["message 0", "message 1", "message 2", "message 3"])
            #expect(seenByJohn.map(\.user) == ["John", "Master", "John", "Master"])
            #expect(seenByJohn.map(\.seq) == [1, 2, 3, 4])
            #expect(seenByJohn.allSatisfy { $0.chatroom == room.rawValue && $0.timestamp > 1_600_000_000_000 })

            await master.leave()
            try await server.waitForUsers(in: room, toBe: ["John"])

            let rejoined = try await ChatClient.join(server.joinURL(room: room, user: "Master"))
            let history = try await rejoined.waitForMessages(4)
            #expect(history == seenByJohn, "history is the four, oldest first")
            john.send("after the rejoin")
            let live = try await rejoined.waitForMessages(5)
            #expect(live.last?.message == "after the rejoin")
            #expect(live.last?.seq == 5)
            try await server.waitForUsers(in: room, toBe: ["John", "Master"])
            #expect(john.undecodable.isEmpty && rejoined.undecodable.isEmpty)
            await john.leave()
            await rejoined.leave()
            try await server.waitForUsers(in: room, toBe: [])
        }
    }

    /// Flooding tests post faster than a person types: the per-connection rate limit is off.
    static let unlimited = ChatServerConfiguration(maximumMessagesPerSecond: nil)

    @Test func rejoiningWhileAnotherClientPostsLosesAndRepeatsNothing() async throws {
        try await TestServer.with(configuration: Self.unlimited) { server in
            let room = try await server.createRoom()
            try await server.createUser("Poster")
            try await server.createUser("Joiner")
            let poster = try await ChatClient.join(server.joinURL(room: room, user: "Poster"))
            let total = 400
            let posting = Task {
                for index in 1...total {
                    poster.send("m\(index)")
                    if index % 20 == 0 { try await Task.sleep(for: .milliseconds(2)) }
                }
            }
            // Join, read for a while, leave, join again: every join lands mid-stream.
            var sessions: [ChatClient] = []
            for _ in 0..<6 {
                let joiner = try await ChatClient.join(server.joinURL(room: room, user: "Joiner"))
                try await Task.sleep(for: .milliseconds(15))
                if let previous = sessions.last { await previous.leave() }
                sessions.append(joiner)
            }
            try await posting.value
            let final = try await waitForSeq(Int64(total), in: sessions.last!)
            #expect(final.map(\.message) == final.map { "m\($0.seq)" })
            for session in sessions {
                let seqs = session.received.map(\.seq)
                let first = try #require(seqs.first, "every session saw messages")
                #expect(seqs == Array(first...(seqs.last ?? first)), "contiguous, in order, no duplicates")
                #expect(first == 1 || seqs.count >= 100, "a history of 100 was played first (started at \(first))")
            }
            await sessions.last!.leave()
            await poster.leave()
        }
    }

    @Test func tenPublishersThousandMessagesOneOrderForEveryMember() async throws {
        try await TestServer.with(configuration: Self.unlimited) { server in
            let room = try await server.createRoom()
            var clients: [ChatClient] = []
            for index in 0..<10 {
                try await server.createUser("p\(index)")
                clients.append(try await ChatClient.join(server.joinURL(room: room, user: "p\(index)")))
            }
            await withTaskGroup(of: Void.self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask {
                        for message in 0..<100 { client.send("p\(index)-\(message)") }
                    }
                }
            }
            // Generous: on a loaded 2-core CI machine this run alone took up to 16 s (1.7 s idle);
            // the test is about order and completeness, not speed.
            let reference = try await clients[0].waitForMessages(1_000, within: 60)
            #expect(reference.map(\.seq) == Array(1...1_000))
            #expect(Set(reference.map(\.message)).count == 1_000, "every message once")
            for index in 0..<10 {
                // Each publisher's own messages keep the order it sent them in.
                let own = reference.filter { $0.user == "p\(index)" }.map(\.message)
                #expect(own == (0..<100).map { "p\(index)-\($0)" })
            }
            for client in clients.dropFirst() {
                let received = try await client.waitForMessages(1_000, within: 60)
                #expect(received == reference, "one and the same order for every member")
            }
            for client in clients { await client.leave() }
        }
    }

    @Test func aUserWithTwoTabsStaysUntilTheLastCloses() async throws {
        try await TestServer.with { server in
            let room = try await server.createRoom()
            try await server.createUser("Tabs")
            let first = try await ChatClient.join(server.joinURL(room: room, user: "Tabs"))
            let second = try await ChatClient.join(server.joinURL(room: room, user: "Tabs"))
            try await server.waitForUsers(in: room, toBe: ["Tabs"])
            first.send("from tab one")
            #expect(try await second.waitForMessages(1).first?.message == "from tab one")
            await first.leave()
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await server.users(in: room) == ["Tabs"])
            await second.leave()
            try await server.waitForUsers(in: room, toBe: [])
        }
    }

    @Test func namesBeyondAsciiTravelIntact() async throws {
        try await TestServer.with { server in
            let room = try await server.createRoom()
            let name = "Zoë 李 🙂 C++"
            try await server.createUser(name)
            let client = try await ChatClient.join(server.joinURL(room: room, user: name))
            let text = "quotes \" backslash \\ newline \n tab \t nul \u{0} emoji 🎉"
            client.send(text)
            let received = try await client.waitForMessages(1)
            #expect(received.first?.user == name)
            #expect(received.first?.message == text)
            #expect(try await server.users(in: room) == [name])
            await client.leave()
        }
    }

    @Test func gracefulShutdownSendsGoingAway() async throws {
        var client: ChatClient?
        try await TestServer.with { server in
            let room = try await server.createRoom()
            try await server.createUser("Stays")
            client = try await ChatClient.join(server.joinURL(room: room, user: "Stays"))
            await server.shutdown()
        }
        #expect(try await client?.waitForClose() == .goingAway)
    }

    private func waitForSeq(_ seq: Int64, in client: ChatClient) async throws -> [ChatClient.Received] {
        try await eventually("never saw seq \(seq); last was \(client.received.last?.seq ?? 0)", timeout: .seconds(20)) {
            let received = client.received
            return received.last?.seq == seq ? received : nil
        }
    }
}
