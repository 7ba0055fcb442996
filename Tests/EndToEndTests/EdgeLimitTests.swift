import ChatCore
import ChatTestServices
import ChatTransport
import Foundation
import NIOCore
import Testing

/// Cross-site defences and abuse limits over real sockets, each limit made small by its
/// setting: the attack is refused with its status or close code while the room keeps chatting.
@Suite(.timeLimit(.minutes(3)))
struct EdgeLimitTests {
    static func configuration(_ change: (inout ChatServerConfiguration) -> Void) -> ChatServerConfiguration {
        var configuration = ChatServerConfiguration()
        change(&configuration)
        return configuration
    }

    /// A room with a member that keeps chatting; `body` gets the member.
    static func withChattingRoom(
        _ configuration: ChatServerConfiguration, backends: ChatBackends = .inMemory(),
        _ body: (TestServer, RoomID, ChatClient) async throws -> Void
    ) async throws {
        try await TestServer.with(configuration: configuration, backends: backends) { server in
            try await server.createUser("Ann")
            let room = try await server.createRoom(as: "Ann")
            let ann = try await ChatClient.join(server.joinURL(room: room, user: "Ann"))
            try await body(server, room, ann)
            await ann.leave()
        }
    }

    /// The member still chats: a new message reaches it.
    static func stillChatting(_ client: ChatClient, _ text: String) async throws {
        let before = client.received.count
        client.send(text)
        #expect(try await client.waitForMessages(before + 1).last?.message == text)
    }

    static let listRooms = "GET /v1/chatrooms HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    @Test func oneAddressOverItsCapGets429WhileAnotherAddressIsServed() async throws {
        // 127.0.0.1 (the test's HTTP client and Ann) stays under 3.
        let configuration = Self.configuration { $0.abuseLimits.maximumConnectionsPerAddress = 3 }
        try await Self.withChattingRoom(configuration) { server, room, ann in
            var held: [any Channel] = []
            for _ in 0..<3 {
                let connection = try await RawHTTP.open(port: server.port, Self.listRooms, from: "127.0.0.2")
                #expect(connection.head.hasPrefix("HTTP/1.1 200"))
                held.append(connection.channel)
            }
            let refused = try await RawHTTP.exchange(port: server.port, Self.listRooms, from: "127.0.0.2")
            #expect(refused.hasPrefix("HTTP/1.1 429"), "\(refused.prefix(40))")
            #expect(refused.contains(#""message":"too many connections from your address"#))
            let other = try await RawHTTP.exchange(port: server.port, Self.closingListRooms, from: "127.0.0.3")
            #expect(other.hasPrefix("HTTP/1.1 200"), "127.0.0.3 has its own count: \(other.prefix(40))")
            #expect(server.counters.connectionsRefusedForAddress == 1)
            try await Self.stillChatting(ann, "after the 429")
            try await held[0].close()
            _ = try await eventually("a closed connection frees its place") {
                try await RawHTTP.exchange(port: server.port, Self.closingListRooms, from: "127.0.0.2").hasPrefix("HTTP/1.1 200") ? true : nil
            }
            for channel in held.dropFirst() { try await channel.close() }
        }
    }

    @Test func behindATrustedProxyTheForwardedClientIsCountedAndOthersHeadersAreIgnored() async throws {
        let configuration = Self.configuration {
            $0.abuseLimits.maximumConnectionsPerAddress = 1
            $0.abuseLimits.trustedProxies = ["127.0.0.2"]
        }
        try await TestServer.with(configuration: configuration) { server in
            func request(for client: String) -> String {
                "GET /v1/chatrooms HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: \(client)\r\n\r\n"
            }
            let first = try await RawHTTP.open(port: server.port, request(for: "203.0.113.7"), from: "127.0.0.2")
            #expect(first.head.hasPrefix("HTTP/1.1 200"))
            let again = try await RawHTTP.exchange(port: server.port, request(for: "203.0.113.7"), from: "127.0.0.2")
            #expect(again.hasPrefix("HTTP/1.1 429"), "the same client through the proxy: \(again.prefix(40))")
            let other = try await RawHTTP.open(port: server.port, request(for: "203.0.113.8"), from: "127.0.0.2")
            #expect(other.head.hasPrefix("HTTP/1.1 200"), "another client through the same proxy")
            // An untrusted peer is counted by its own address, whatever it claims.
            let untrusted = try await RawHTTP.open(port: server.port, request(for: "198.51.100.1"), from: "127.0.0.3")
            #expect(untrusted.head.hasPrefix("HTTP/1.1 200"))
            let spoofed = try await RawHTTP.exchange(port: server.port, request(for: "198.51.100.2"), from: "127.0.0.3")
            #expect(spoofed.hasPrefix("HTTP/1.1 429"))
            for channel in [first.channel, other.channel, untrusted.channel] { try await channel.close() }
        }
    }

    @Test func aSocketWhosePeerClosesItsSideWithoutACloseFrameFreesItsPlaceAtOnce() async throws {
        // nginx drops its upstream socket this way when its client vanishes. No pings: only the
        // half-closure itself can free the place.
        let configuration = Self.configuration {
            $0.abuseLimits.maximumConnectionsPerAddress = 2  // 127.0.0.1: the test's HTTP client and Ann
            $0.pingInterval = nil
        }
        try await Self.withChattingRoom(configuration) { server, room, ann in
            let path = String(server.joinURL(room: room, user: "Ann").dropFirst("ws://127.0.0.1:\(server.port)".count))
            let first = try await RawHTTP.open(port: server.port, RawHTTP.upgradeRequest(path), from: "127.0.0.5")
            #expect(first.head.hasPrefix("HTTP/1.1 101"), "\(first.head.prefix(40))")
            let held = try await RawHTTP.open(port: server.port, Self.listRooms, from: "127.0.0.5")
            let refused = try await RawHTTP.exchange(port: server.port, Self.closingListRooms, from: "127.0.0.5")
            #expect(refused.hasPrefix("HTTP/1.1 429"), "the socket and the held request fill the address's places: \(refused.prefix(40))")
            try await first.channel.close(mode: .output)  // TCP FIN, no close frame
            _ = try await eventually("the half-closed socket is dropped and frees its place") {
                try await RawHTTP.exchange(port: server.port, Self.closingListRooms, from: "127.0.0.5").hasPrefix("HTTP/1.1 200") ? true : nil
            }
            try await Self.stillChatting(ann, "after the half-closed socket")
            try? await first.channel.close()
            try await held.channel.close()
        }
    }

    static let closingListRooms = "GET /v1/chatrooms HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    @Test func newConnectionsFasterThanTheRateGet429() async throws {
        let configuration = Self.configuration { $0.abuseLimits.newConnectionsPerSecondPerAddress = 2 }
        try await TestServer.with(configuration: configuration) { server in
            var statuses: [String] = []
            // 30 in a row would need 14 s to stay within 2 a second (2 in a burst, then 2 a second).
            for _ in 0..<30 {
                statuses.append(String(try await RawHTTP.exchange(port: server.port, Self.closingListRooms, from: "127.0.0.4").prefix(12)))
            }
            #expect(statuses.prefix(2) == ["HTTP/1.1 200", "HTTP/1.1 200"])
            #expect(statuses.contains("HTTP/1.1 429"), "\(statuses)")
            #expect(server.counters.connectionsRefusedForAddress >= 1)
        }
    }

    @Test func theTotalCapGets503() async throws {
        let configuration = Self.configuration { $0.abuseLimits.maximumConnections = 4 }
        try await Self.withChattingRoom(configuration) { server, room, ann in
            // Ann and the test's HTTP client hold some of the four; open more until one is refused.
            var held: [any Channel] = []
            var refusal: String?
            for index in 0..<5 where refusal == nil {
                let connection = try await RawHTTP.open(port: server.port, Self.listRooms, from: "127.0.0.\(10 + index)")
                if connection.head.hasPrefix("HTTP/1.1 503") {
                    refusal = connection.head
                    connection.channel.close(promise: nil)
                } else {
                    held.append(connection.channel)
                }
            }
            #expect(refusal?.contains("connection limit") == true, "one was refused: \(refusal ?? "none")")
            #expect(held.count <= 3)
            #expect(server.counters.connectionsRefusedServerFull == 1)
            for channel in held { try await channel.close() }
            try await Self.stillChatting(ann, "after the 503")
        }
    }

    @Test func fiftySlowUpgradeRequestsAreAllClosedAtTheDeadlineWhileTheRoomChats() async throws {
        let configuration = Self.configuration {
            $0.abuseLimits.requestDeadline = .seconds(3)  // long enough for the member's own join on a busy machine, well inside RawHTTP's 10 s
            $0.abuseLimits.newConnectionsPerSecondPerAddress = 1_000
        }
        try await Self.withChattingRoom(configuration) { server, room, ann in
            // Each announces a one-byte body and never sends it: the upgrade waits for the body.
            let slow = RawHTTP.upgradeRequest(server.joinPath(room: room, user: "Ann"), extraHeaders: ["Content-Length: 1"])
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await RawHTTP.exchange(port: server.port, slow) }  // fails unless closed within 10 s
                }
                try await Self.stillChatting(ann, "while 50 clients stall")
                for try await answer in group {
                    #expect(!answer.hasPrefix("HTTP/1.1 101"), "no stalled upgrade completed")
                }
            }
            #expect(server.counters.requestDeadlinesMissed == 50)
            // A body that never ends on a plain request is cut off too.
            let post = "POST /v1/users HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na"
            #expect(try await RawHTTP.exchange(port: server.port, post).isEmpty)
            try await Self.stillChatting(ann, "after the deadline")
        }
    }

    @Test func aPingFloodIsClosedWith1008WhileTheRoomChats() async throws {
        let configuration = Self.configuration { $0.maximumMessagesPerSecond = 10 }
        try await Self.withChattingRoom(configuration) { server, room, ann in
            try await server.createUser("Flood")
            let flood = try await ChatClient.join(server.joinURL(room: room, user: "Flood"))
            for index in 0..<200 { flood.send(frame: .init(fin: true, opcode: .ping, data: ByteBuffer(string: "\(index)"))) }
            #expect(try await flood.waitForClose() == .policyViolation)
            #expect(server.counters.controlFloodsClosed == 1)
            try await Self.stillChatting(ann, "after the ping flood")
        }
    }

    @Test func anOriginFromAnotherSiteIs403AndTheOwnOriginAndNoOriginJoin() async throws {
        try await Self.withChattingRoom(ChatServerConfiguration()) { server, room, ann in
            let path = server.joinPath(room: room, user: "Ann")
            let evil = try await RawHTTP.exchange(port: server.port, RawHTTP.upgradeRequest(path, extraHeaders: ["Origin: https://evil.example"]))
            #expect(evil.hasPrefix("HTTP/1.1 403"), "\(evil.prefix(40))")
            #expect(evil.contains(#"{"message":"pages from origin 'https:"#) && evil.contains("evil.example' may not join"))
            #expect(server.counters.originsRefused == 1)
            // Host is 127.0.0.1 without a port in upgradeRequest; the own origin is judged by host and port.
            let own = RawHTTP.upgradeRequest(path, extraHeaders: ["Origin: http://127.0.0.1"])
            try await RawHTTP.head(port: server.port, own) { head in #expect(head.hasPrefix("HTTP/1.1 101"), "\(head.prefix(40))") }
            try await RawHTTP.head(port: server.port, RawHTTP.upgradeRequest(path)) { head in #expect(head.hasPrefix("HTTP/1.1 101")) }
            try await Self.stillChatting(ann, "after the refused origin")
        }
    }

    @Test func listedOriginsAndTheWildcardJoin() async throws {
        let listed = Self.configuration { $0.originPolicy = try! OriginPolicy(allowing: ["https://app.example", ChatClient.origin]) }
        try await Self.withChattingRoom(listed) { server, room, _ in
            let path = server.joinPath(room: room, user: "Ann")
            try await RawHTTP.head(port: server.port, RawHTTP.upgradeRequest(path, extraHeaders: ["Origin: https://app.example"])) { head in
                #expect(head.hasPrefix("HTTP/1.1 101"))
            }
            let other = try await RawHTTP.exchange(port: server.port, RawHTTP.upgradeRequest(path, extraHeaders: ["Origin: https://evil.example"]))
            #expect(other.hasPrefix("HTTP/1.1 403"))
        }
        try await Self.withChattingRoom(Self.configuration { $0.originPolicy = .anyOrigin }) { server, room, _ in
            let path = server.joinPath(room: room, user: "Ann")
            try await RawHTTP.head(port: server.port, RawHTTP.upgradeRequest(path, extraHeaders: ["Origin: https://evil.example"])) { head in
                #expect(head.hasPrefix("HTTP/1.1 101"), "'*' opts out")
            }
        }
    }

    @Test func fullInMemoryStoresAnswer507WhileTheRoomChats() async throws {
        try await Self.withChattingRoom(ChatServerConfiguration(), backends: .inMemory(capacity: .init(users: 2, rooms: 1))) { server, room, ann in
            let rooms = try await server.request(.POST, "/v1/chatrooms", headers: server.bearer("Ann"))
            #expect(rooms.status == 507)
            #expect(rooms.message?.contains("at most 1 chat rooms") == true)
            #expect(try await server.request(.POST, "/v1/users", body: #"{"name": "Bob"}"#).status == 200)
            let users = try await server.request(.POST, "/v1/users", body: #"{"name": "Cat"}"#)
            #expect(users.status == 507)
            #expect(users.message?.contains("insufficient storage") == true)
            #expect(try await server.request(.POST, "/v1/users", body: #"{"name": "Ann"}"#).status == 409, "a taken name is still a 409")
            #expect(server.counters.storageFullRefusals == 2)
            try await Self.stillChatting(ann, "with full stores")
        }
    }

    @Test func searchBeyondItsBoundsIs400() async throws {
        try await Self.withChattingRoom(ChatServerConfiguration()) { server, room, ann in
            for query in ["limit=101", "offset=10001"] {
                let reply = try await server.request(.GET, "/v1/chatrooms/\(room)/messages?q=hi&\(query)")
                #expect(reply.status == 400, "\(query)")
                #expect(reply.message?.contains("whole number") == true)
            }
            try await Self.stillChatting(ann, "after the bad searches")
        }
    }
}
