import ChatCore
import ChatTestServices
import ChatTransport
import Foundation
import HTTPTypes
import NIOWebSocket
import Testing

/// `--auth token` (the default) over loopback with independent clients: who may join, create
/// rooms and delete users, and what a refusal looks like, while the room keeps chatting.
@Suite(.timeLimit(.minutes(2)))
struct AuthenticationTests {
    /// An upgrade request that also asks to close afterwards: a refused upgrade ends its
    /// connection, and the HTTP client must not reuse it for the next request.
    static let upgrade = [
        ("Upgrade", "websocket"), ("Connection", "Upgrade, close"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]

    @Test func joiningAnExistingNameWithoutATokenIs401WhileTheRoomKeepsChatting() async throws {
        try await TestServer.with { server in
            try await server.createUser("Ann")
            let room = try await server.createRoom(as: "Ann")
            let ann = try await ChatClient.join(server.joinURL(room: room, user: "Ann"))
            for (index, path) in [
                "/v1/chatrooms/\(room)/join?user=Ann",  // the seed's attack: just the name
                "/v1/chatrooms/\(room)/join?user=Ann&access_token=guessed",
            ].enumerated() {
                let reply = try await server.request(.GET, path, headers: Self.upgrade)
                #expect(reply.status == 401, "\(path)")
                #expect(reply.headers["www-authenticate"] == "Bearer")
                #expect(reply.message?.contains("token") == true, "\(reply.message ?? "")")
                let bearer = try await server.request(.GET, "/v1/chatrooms/\(room)/join", headers: Self.upgrade + [("Authorization", "Bearer nope")])
                #expect(bearer.status == 401)
                ann.send("still mine \(index)")
                #expect(try await ann.waitForMessages(index + 1).last?.user == "Ann")
            }
            await #expect(throws: (any Error).self) { _ = try await ChatClient.join("ws://127.0.0.1:\(server.port)/v1/chatrooms/\(room)/join?user=Ann") }
            #expect(try await server.users(in: room) == ["Ann"], "the attacker never joined")
            await ann.leave()
        }
    }

    @Test func theTokenFlowEndToEnd() async throws {
        try await TestServer.with { server in
            let created = try await server.request(.POST, "/v1/users", body: #"{"name": "Bob", "password": "correct horse"}"#)
            #expect(created.status == 200)
            #expect(created.json?["name"] as? String == "Bob")
            let token = try #require(created.json?["token"] as? String)
            #expect(token.count >= 43, "256 bits")
            server.remember(token, of: "Bob")
            let room = try await server.createRoom(as: "Bob")

            // The token as a header, without user=; then as access_token with the matching user=.
            let byHeader = try await ChatClient.join(
                "ws://127.0.0.1:\(server.port)/v1/chatrooms/\(room)/join", headers: [.authorization: "Bearer \(token)"]
            )
            let byQuery = try await ChatClient.join(server.joinURL(room: room, user: "Bob"))
            byHeader.send("from the header")
            #expect(try await byQuery.waitForMessages(1).first?.user == "Bob", "the connection speaks as the token's user")

            // Another user's name with Bob's token: 403.
            try await server.createUser("Eve")
            let impostor = try await server.request(.GET, "/v1/chatrooms/\(room)/join?user=Eve&access_token=\(token)", headers: Self.upgrade)
            #expect(impostor.status == 403)
            #expect(impostor.message?.contains("speaks for 'Bob'") == true)

            // Password login issues a second, working token; a wrong password is 401.
            let wrong = try await server.request(.POST, "/v1/tokens", body: #"{"name": "Bob", "password": "wrong horse"}"#)
            #expect(wrong.status == 401)
            let login = try await server.request(.POST, "/v1/tokens", body: #"{"name": "Bob", "password": "correct horse"}"#)
            let second = try #require(login.json?["token"] as? String)
            #expect(second != token)
            let device = try await ChatClient.join("ws://127.0.0.1:\(server.port)/v1/chatrooms/\(room)/join?access_token=\(second)")

            // Revoking the first token: it stops working, the second does not.
            let revoke = try await server.request(.DELETE, "/v1/tokens/current", headers: [("Authorization", "Bearer \(token)")])
            #expect(revoke.status == 200)
            let revoked = try await server.request(.GET, "/v1/chatrooms/\(room)/join?access_token=\(token)", headers: Self.upgrade)
            #expect(revoked.status == 401)
            #expect(try await server.request(.DELETE, "/v1/tokens/current", headers: [("Authorization", "Bearer \(token)")]).status == 401)
            #expect(try await server.request(.GET, "/v1/chatrooms/\(room)/join?access_token=\(second)").status == 426, "the second still admits")
            device.send("from the second device")
            #expect(try await byQuery.waitForMessages(2).last?.message == "from the second device")
            for client in [byHeader, byQuery, device] { await client.leave() }
        }
    }

    @Test func aPasswordOutsideTheRulesIsRefusedBeforeTheUserExists() async throws {
        try await TestServer.with { server in
            let short = try await server.request(.POST, "/v1/users", body: #"{"name": "Cy", "password": "short"}"#)
            #expect(short.status == 400)
            #expect(short.message?.contains("password") == true)
            #expect(try await server.createUser("Cy") != nil, "the name is still free")
        }
    }

    @Test func creatingRoomsNeedsATokenAndListingIsOpenUnlessRoomsArePrivate() async throws {
        try await TestServer.with { server in
            #expect(try await server.request(.POST, "/v1/chatrooms").status == 401)
            let room = try await server.createRoom()
            #expect(try await server.request(.GET, "/v1/chatrooms").status == 200)
            #expect(try await server.request(.GET, "/v1/chatrooms/\(room)/users").status == 200)
        }
        var configuration = ChatServerConfiguration()
        configuration.access.privateRooms = true
        try await TestServer.with(configuration: configuration) { server in
            let room = try await server.createRoom()
            for path in ["/v1/chatrooms", "/v1/chatrooms/\(room)/users", "/v1/chatrooms/\(room)/messages?q=hi"] {
                #expect(try await server.request(.GET, path).status == 401, "\(path)")
            }
            let maker = try #require(server.anyToken())
            #expect(try await server.request(.GET, "/v1/chatrooms", headers: [("Authorization", "Bearer \(maker)")]).status == 200)
        }
    }

    @Test func deletingEveryUserNeedsTheAdminToken() async throws {
        try await TestServer.with { server in
            try await server.createUser("Kept")
            let none = try await server.request(.DELETE, "/v1/users")
            #expect(none.status == 401)
            let userToken = try #require(server.token(of: "Kept"))
            let wrong = try await server.request(.DELETE, "/v1/users", headers: [("Authorization", "Bearer \(userToken)")])
            #expect(wrong.status == 403)
            #expect(wrong.message?.contains("admin") == true)
            #expect(try await server.request(.POST, "/v1/users", body: #"{"name": "Kept"}"#).status == 409, "nothing was deleted")
            #expect(try await server.deleteAllUsers().status == 200)
            #expect(try await server.request(.GET, "/v1/chatrooms/1/join?access_token=\(userToken)").status == 401, "tokens went with the users")
        }
        try await TestServer.with(auth: .open) { server in
            try await server.createUser("Gone")
            #expect(try await server.request(.DELETE, "/v1/users").status == 200, "open in --auth none, as in the seed")
        }
    }

    @Test func roomsPerUserPerMinuteAreLimitedWith429() async throws {
        var configuration = ChatServerConfiguration()
        configuration.access.maximumRoomsPerUserPerMinute = 2
        try await TestServer.with(configuration: configuration) { server in
            try await server.createUser("Builder")
            _ = try await server.createRoom(as: "Builder")
            _ = try await server.createRoom(as: "Builder")
            let third = try await server.request(.POST, "/v1/chatrooms", headers: server.bearer("Builder"))
            #expect(third.status == 429)
            #expect(third.message?.contains("room quota") == true)
            #expect(server.counters.roomCreationsRefused == 1)
            try await server.createUser("Other")
            _ = try await server.createRoom(as: "Other")  // the quota is per user
        }
    }

    @Test func failedAttemptsFromOneAddressAreLimitedWith429() async throws {
        var configuration = ChatServerConfiguration()
        configuration.access.maximumFailedAttemptsPerMinute = 3
        try await TestServer.with(configuration: configuration) { server in
            try await server.createUser("Dee")
            let room = try await server.createRoom(as: "Dee")
            let dee = try await ChatClient.join(server.joinURL(room: room, user: "Dee"))
            for guess in 0..<3 {
                #expect(try await server.request(.GET, "/v1/chatrooms/\(room)/join?access_token=guess\(guess)", headers: Self.upgrade).status == 401)
            }
            let limited = try await server.request(.GET, "/v1/chatrooms/\(room)/join?access_token=guess3", headers: Self.upgrade)
            #expect(limited.status == 429)
            #expect(limited.message?.contains("too many failed") == true)
            let admin = try await server.request(.DELETE, "/v1/users", headers: [("Authorization", "Bearer guess")])
            #expect(admin.status == 429, "admin guesses count against the same address")
            #expect(server.counters.authenticationFailuresRefused == 3)
            #expect(server.counters.authenticationAttemptsRateLimited == 2)
            dee.send("unaffected")
            #expect(try await dee.waitForMessages(1).first?.message == "unaffected", "an admitted socket keeps chatting")
            await dee.leave()
        }
    }

    /// Behind a trusted proxy every client arrives from the proxy's address: failures count
    /// against the client it names, so one guesser cannot lock everyone else out.
    @Test func behindATrustedProxyFailedAttemptsCountAgainstTheForwardedClient() async throws {
        var configuration = ChatServerConfiguration()
        configuration.access.maximumFailedAttemptsPerMinute = 2
        configuration.abuseLimits.trustedProxies = ["127.0.0.1"]
        try await TestServer.with(configuration: configuration) { server in
            try await server.createUser("Eve")
            let room = try await server.createRoom(as: "Eve")
            func guess(from client: String, path: String) async throws -> Int {
                try await server.request(.GET, path, headers: Self.upgrade + [("X-Forwarded-For", client)]).status
            }
            let join = "/v1/chatrooms/\(room)/join?access_token=guess"
            #expect(try await guess(from: "198.51.100.7", path: join) == 401)
            #expect(try await guess(from: "198.51.100.7", path: join) == 401)
            #expect(try await guess(from: "198.51.100.7", path: join) == 429, "the guesser is limited")
            #expect(try await guess(from: "198.51.100.8", path: join) == 401, "another client behind the same proxy is not")
            // The REST API attributes the same way.
            let search = "/v1/chatrooms/\(room)/messages?q=x"
            let limited = try await server.request(.DELETE, "/v1/users", headers: [("Authorization", "Bearer guess"), ("X-Forwarded-For", "198.51.100.7")])
            #expect(limited.status == 429)
            #expect(try await server.request(.GET, search, headers: [("X-Forwarded-For", "198.51.100.9")]).status == 200)
        }
    }

    @Test func theBrowserPageSendsItsSecurityHeadersAndLoadsItsScriptFromTheSameOrigin() async throws {
        try await TestServer.with { server in
            let page = try await server.request(.GET, "/")
            #expect(page.status == 200)
            let csp = try #require(page.headers["content-security-policy"])
            #expect(csp.contains("default-src 'self'"))
            #expect(csp.contains("connect-src 'self' ws://127.0.0.1:\(server.port) wss://127.0.0.1:\(server.port)"))
            #expect(csp.contains("frame-ancestors 'none'"))
            #expect(page.headers["x-content-type-options"] == "nosniff")
            #expect(page.headers["referrer-policy"] == "no-referrer")
            let html = try await server.text("/")
            #expect(html.contains(#"<script src="/client.js""#))
            #expect(!html.contains("<script>") && !html.contains("<style>"), "nothing inline: the CSP forbids it")

            let script = try await server.request(.GET, "/client.js")
            #expect(script.headers["content-type"]?.hasPrefix("text/javascript") == true)
            #expect(script.headers["x-content-type-options"] == "nosniff")
            var javaScript = ""  // the page's script and the modules it imports
            for path in ["/client.js", "/client-api.js", "/client-room.js"] { javaScript += try await server.text(path) }
            #expect(javaScript.contains("encodeURIComponent(name)"), "the name is encoded with encodeURIComponent")
            #expect(javaScript.contains("access_token="))
            #expect(javaScript.contains("localStorage"))
            #expect(!javaScript.contains("searchParams.set"), "which would encode a space as +")
            #expect(try await server.request(.GET, "/client.css").status == 200)

            // A Host that could inject a source is left out of the policy.
            let odd = try await server.request(.GET, "/", headers: [("Host", "evil.example; script-src *")])
            #expect(odd.headers["content-security-policy"]?.contains("evil") == false)
        }
    }

    @Test func annLeeJoinsWithHerNameEncodedAsTheBrowserDoes() async throws {
        try await TestServer.with { server in
            try await server.createUser("Ann Lee")
            let room = try await server.createRoom(as: "Ann Lee")
            // encodeURIComponent("Ann Lee") is "Ann%20Lee".
            let url = server.joinURL(room: room, user: "Ann Lee")
            #expect(url.contains("user=Ann%20Lee&access_token="))
            let ann = try await ChatClient.join(url)
            ann.send("hello")
            #expect(try await ann.waitForMessages(1).first?.user == "Ann Lee")
            await ann.leave()
        }
    }
}
