import ChatCore
import Foundation
import Testing

/// `GET /v1/chatrooms/{id}/messages?q=…`: full-text search of a room's chat log over HTTP.
@Suite(.timeLimit(.minutes(2)))
struct SearchTests {
    @Test func messagesWithEveryWordComeNewestFirstInPages() async throws {
        try await TestServer.with { server in
            let room = try await server.createRoom()
            let other = try await server.createRoom()
            try await server.createUser("Ann")
            let ann = try await ChatClient.join(server.joinURL(room: room, user: "Ann"))
            let texts = ["deploy at noon", "lunch first", "Deploy went fine", "noon deploy again", "unrelated"]
            for text in texts { ann.send(text) }
            _ = try await ann.waitForMessages(texts.count)

            let all = try await eventually("the log has the messages") {
                let reply = try await server.request(.GET, "/v1/chatrooms/\(room)/messages?q=deploy")
                let messages = reply.json?["messages"] as? [[String: Any]] ?? []
                return messages.count == 3 ? messages : nil
            }
            #expect(all.map { $0["message"] as? String } == ["noon deploy again", "Deploy went fine", "deploy at noon"])
            #expect(all.map { $0["user"] as? String } == ["Ann", "Ann", "Ann"])
            #expect(all.map { $0["seq"] as? Int } == [4, 3, 1])

            let both = try await server.request(.GET, "/v1/chatrooms/\(room)/messages?q=NOON%20deploy")
            #expect((both.json?["messages"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [4, 1])

            let first = try await server.request(.GET, "/v1/chatrooms/\(room)/messages?q=deploy&limit=2")
            #expect((first.json?["messages"] as? [[String: Any]])?.count == 2)
            #expect(first.json?["next_offset"] as? Int == 2)
            let second = try await server.request(.GET, "/v1/chatrooms/\(room)/messages?q=deploy&limit=2&offset=2")
            #expect((second.json?["messages"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [1])
            #expect(second.json?["next_offset"] == nil)

            let elsewhere = try await server.request(.GET, "/v1/chatrooms/\(other)/messages?q=deploy")
            #expect(elsewhere.status == 200)
            #expect((elsewhere.json?["messages"] as? [Any])?.isEmpty == true)
            await ann.leave()
        }
    }

    @Test func badSearchesAreRefusedWithAMessage() async throws {
        try await TestServer.with { server in
            let room = try await server.createRoom()
            for (path, status) in [
                ("/v1/chatrooms/\(room)/messages", 400),
                ("/v1/chatrooms/\(room)/messages?q=%20", 400),
                ("/v1/chatrooms/\(room)/messages?q=x&limit=0", 400),
                ("/v1/chatrooms/\(room)/messages?q=x&limit=101", 400),
                ("/v1/chatrooms/\(room)/messages?q=x&offset=-1", 400),
                ("/v1/chatrooms/\(room)/messages?q=x&limit=ten", 400),
                ("/v1/chatrooms/abc/messages?q=x", 400),
                ("/v1/chatrooms/999/messages?q=x", 404),
            ] {
                let reply = try await server.request(.GET, path)
                #expect(reply.status == status, "\(path)")
                #expect(reply.message?.isEmpty == false, "\(path) answers JSON with a message")
            }
        }
    }
}
