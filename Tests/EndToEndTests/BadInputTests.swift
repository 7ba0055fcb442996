import ChatCore
import ChatTransport
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Testing

/// Every kind of bad request gets its documented status and a JSON message, the socket gets
/// the right close code, and the server keeps serving everybody else throughout.
@Suite(.timeLimit(.minutes(2)))
struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let method: HTTPMethod
        let path: String
        var body: String?
        var headers: [(String, String)] = []
        let status: Int
        let messageContains: String
    }

    static let upgrade = [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]

    static let cases: [Case] = [
        Case(description: "malformed JSON", method: .POST, path: "/v1/users", body: #"{"name": "#, status: 400, messageContains: "JSON object"),
        Case(description: "JSON that is not an object", method: .POST, path: "/v1/users", body: "[1,2]", status: 400, messageContains: "JSON object"),
        Case(description: "name of the wrong type", method: .POST, path: "/v1/chatrooms/users", body: #"{"name": 7}"#, status: 400, messageContains: "JSON object"),
        Case(description: "missing body", method: .POST, path: "/v1/users", headers: [("Content-Type", "application/json")], status: 400, messageContains: "JSON object"),
        Case(description: "a text/plain body (what a cross-site form sends)", method: .POST, path: "/v1/users", body: #"{"name": "Eve"}"#, headers: [("Content-Type", "text/plain")], status: 415, messageContains: "application/json"),
        Case(description: "a form-encoded body", method: .POST, path: "/v1/chatrooms/users", body: "name=Eve", headers: [("Content-Type", "application/x-www-form-urlencoded")], status: 415, messageContains: "application/json"),
        Case(description: "oversized body", method: .POST, path: "/v1/users", body: #"{"name": ""# + String(repeating: "a", count: 100_000) + #""}"#, status: 413, messageContains: "too large"),
        Case(description: "empty name", method: .POST, path: "/v1/users", body: #"{"name": ""}"#, status: 400, messageContains: "empty"),
        Case(description: "name too long", method: .POST, path: "/v1/users", body: #"{"name": ""# + String(repeating: "n", count: 33) + #""}"#, status: 400, messageContains: "at most 32"),
        Case(description: "control character in name", method: .POST, path: "/v1/users", body: #"{"name": "a\u0007b"}"#, status: 400, messageContains: "control"),
        Case(description: "taken name", method: .POST, path: "/v1/chatrooms/users", body: #"{"name": "Taken"}"#, status: 409, messageContains: "already taken"),
        Case(description: "non-numeric room id", method: .GET, path: "/v1/chatrooms/seven/users", status: 400, messageContains: "invalid chat room id"),
        Case(description: "negative room id", method: .GET, path: "/v1/chatrooms/-1/users", status: 400, messageContains: "invalid chat room id"),
        Case(description: "unknown room", method: .GET, path: "/v1/chatrooms/999/users", status: 404, messageContains: "unknown chat room 999"),
        Case(description: "join without upgrade", method: .GET, path: "/v1/chatrooms/1/join?user=Taken", status: 426, messageContains: "WebSocket"),
        Case(description: "join with bad room id", method: .GET, path: "/v1/chatrooms/x/join?user=Taken", headers: upgrade, status: 400, messageContains: "invalid chat room id"),
        Case(description: "join of unknown room", method: .GET, path: "/v1/chatrooms/999/join?user=Taken", headers: upgrade, status: 404, messageContains: "unknown chat room"),
        Case(description: "join without user", method: .GET, path: "/v1/chatrooms/1/join", headers: upgrade, status: 400, messageContains: "'user' is required"),
        Case(description: "join of unknown user", method: .GET, path: "/v1/chatrooms/1/join?user=Ghost", headers: upgrade, status: 404, messageContains: "unknown user 'Ghost'"),
        Case(description: "join with invalid user name", method: .GET, path: "/v1/chatrooms/1/join?user=%01", headers: upgrade, status: 400, messageContains: "control"),
        Case(description: "join with an unsupported WebSocket version", method: .GET, path: "/v1/chatrooms/1/join?user=Taken",
             headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "8")],
             status: 400, messageContains: "handshake"),
        Case(description: "upgrade on another path", method: .GET, path: "/v1/chatrooms", headers: upgrade, status: 404, messageContains: "only at"),
        Case(description: "unknown path", method: .GET, path: "/v2/everything", status: 404, messageContains: "no such endpoint"),
        Case(description: "wrong method", method: .PUT, path: "/v1/chatrooms", status: 405, messageContains: "not allowed"),
        Case(description: "wrong method on a room path", method: .DELETE, path: "/v1/chatrooms/1/users", status: 405, messageContains: "use GET"),
        Case(description: "wrong method on the search path", method: .POST, path: "/v1/chatrooms/1/messages", status: 405, messageContains: "use GET"),
    ]

    /// The seed's API without authentication (`--auth none`): the joins here name users, not tokens.
    @Test func everyBadRequestGetsItsStatusAndAJSONMessageWhileTheRoomKeepsChatting() async throws {
        try await TestServer.with(auth: .open) { server in
            let room = try await server.createRoom()
            try await server.createUser("Taken")
            let listener = try await ChatClient.join(server.joinURL(room: room, user: "Taken"))
            for (index, bad) in Self.cases.enumerated() {
                let reply = try await server.request(bad.method, bad.path, body: bad.body, headers: bad.headers)
                #expect(reply.status == bad.status, "\(bad): status")
                #expect(reply.headers["content-type"]?.hasPrefix("application/json") == true, "\(bad): content type")
                let message = try #require(reply.message, "\(bad): a JSON {\"message\": …} body")
                #expect(message.contains(bad.messageContains), "\(bad): '\(message)'")
                // The server keeps serving everyone else.
                listener.send("still here \(index)")
                #expect(try await listener.waitForMessages(index + 1).last?.message == "still here \(index)")
            }
            let wrongMethod = try await server.request(.PUT, "/v1/chatrooms")
            #expect(wrongMethod.headers["allow"] == "GET, POST")
            #expect(try await server.request(.GET, "/v1/chatrooms").status == 200)
            await listener.leave()
        }
    }

    @Test func anUpgradeToAnotherProtocolIsIgnoredAndTheRequestServed() async throws {
        try await TestServer.with { server in
            _ = try await server.createRoom()
            // What `curl --http2 http://…` sends, byte for byte (an HTTP client library would rewrite it).
            let response = try await RawHTTP.exchange(
                port: server.port,
                "GET /v1/chatrooms HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: h2c\r\n"
                    + "Connection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n"
            )
            #expect(response.hasPrefix("HTTP/1.1 200"), "served: \(response.prefix(60))")
            #expect(response.hasSuffix(#"{"ids":[1]}"#))
            #expect(response.lowercased().contains("\r\nconnection: close\r\n"), "the connection ends after it: \(response)")
        }
    }

    @Test func aConnectionThatNeverSendsARequestIsClosed() async throws {
        var configuration = ChatServerConfiguration()
        configuration.abuseLimits.requestDeadline = .milliseconds(200)
        try await TestServer.with(configuration: configuration) { server in
            // RawHTTP fails if the server has not closed the connection within 30 seconds.
            let silent = try await RawHTTP.exchange(port: server.port, "")
            #expect(silent.isEmpty)
            let unfinished = try await RawHTTP.exchange(port: server.port, "GET /v1/chat")
            #expect(unfinished.isEmpty, "nor one that never finishes its head")
        }
    }

    @Test func theBrowserClientIsServedAtTheRoot() async throws {
        try await TestServer.with { server in
            let reply = try await server.request(.GET, "/")
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"]?.hasPrefix("text/html") == true)
        }
    }

    @Test func deleteAllUsersEmptiesTheDirectory() async throws {
        try await TestServer.with { server in
            try await server.createUser("Gone")
            #expect(try await server.deleteAllUsers().status == 200)
            // The name is free again.
            try await server.createUser("Gone")
        }
    }

    @Test(arguments: [
        ("oversized frame", WebSocketErrorCode.messageTooLarge),
        ("invalid UTF-8", WebSocketErrorCode.dataInconsistentWithMessage),
        ("binary message", WebSocketErrorCode.unacceptableData),
        ("oversized fragmented message", WebSocketErrorCode.messageTooLarge),
        ("stray continuation", WebSocketErrorCode.protocolError),
    ])
    func badFramesCloseWithTheirCodeAndOthersKeepChatting(_ kind: String, _ expected: WebSocketErrorCode) async throws {
        try await TestServer.with(configuration: .init(maximumMessageBytes: 4_096)) { server in
            let room = try await server.createRoom()
            try await server.createUser("Good")
            try await server.createUser("Bad")
            let good = try await ChatClient.join(server.joinURL(room: room, user: "Good"))
            let bad = try await ChatClient.join(server.joinURL(room: room, user: "Bad"))
            switch kind {
            case "oversized frame":
                bad.send(String(repeating: "x", count: 5_000))
            case "invalid UTF-8":
                bad.send(frame: WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0x68, 0xC3, 0x28, 0xFF])))
            case "binary message":
                bad.send(frame: WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [1, 2, 3])))
            case "oversized fragmented message":
                for index in 0..<3 {
                    bad.send(frame: WebSocketFrame(fin: false, opcode: index == 0 ? .text : .continuation, data: ByteBuffer(string: String(repeating: "y", count: 2_000))))
                }
            default:
                bad.send(frame: WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: "orphan")))
            }
            #expect(try await bad.waitForClose() == expected)
            try await server.waitForUsers(in: room, toBe: ["Good"])
            good.send("unaffected")
            #expect(try await good.waitForMessages(1).map(\.message) == ["unaffected"])
            await good.leave()
        }
    }
}
