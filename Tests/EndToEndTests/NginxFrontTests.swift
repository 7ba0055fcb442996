import ChatTestServices
import Foundation
import NIOCore
import Testing

/// Debian's nginx with the shipped deploy/nginx/chatd.conf in front of three chatd processes
/// on one Redis and one MariaDB (``NginxFront``): the seed story through nginx only, users
/// spread by the hash on their name, per-address limits that count the client nginx names, and
/// a SIGKILLed chatd whose users reconnect through nginx to the next server and resume.
/// The tests share Redis database 16, so they run one at a time.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct NginxFrontTests {
    @Test func theSeedStoryRunsThroughNginxAndTheHashSpreadsUsersOverTheServers() async throws {
        try await NginxFront.with(redisDatabase: 16, auth: "none") { front in
            // The seed's REST calls (`--auth none`: no tokens), each to whichever chatd nginx picks.
            let names = (1...30).map { "user\($0)" }
            for name in names + ["Zoe"] {
                #expect(try await front.request(.POST, "/v1/chatrooms/users", body: #"{"name": "\#(name)"}"#).status == 200)
            }
            #expect(try await front.request(.POST, "/v1/users", body: #"{"name": "user1"}"#).status == 409, "one user table behind every server")
            let room = try #require(try await front.request(.POST, "/v1/chatrooms", body: "").json?["id"] as? Int)
            #expect((try await front.request(.GET, "/v1/chatrooms").json?["ids"] as? [Int]) == [room])

            // Every user joins through nginx and lands on the server their name hashes to.
            var clients: [ChatClient] = []
            var landed: [String: Int] = [:]
            for name in names {
                let (client, server) = try await front.landing { try await ChatClient.join(front.joinURL(room: room, user: name)) }
                clients.append(client)
                landed[name] = server
            }
            #expect(Set(landed.values) == [0, 1, 2], "30 users over three servers: \(landed)")
            // The hash keeps a user on one server: a second tab lands where the first did.
            for name in names.prefix(3) {
                let (tab, server) = try await front.landing { try await ChatClient.join(front.joinURL(room: room, user: name)) }
                #expect(server == landed[name], "\(name)'s second tab")
                await tab.leave()
                try await front.waitForConnections(names.count)
            }

            // Messages both ways between two users on different servers; every member gets both, in one order.
            let ann = 0
            let bob = try #require(names.indices.first { landed[names[$0]] != landed[names[ann]] })
            clients[ann].send("hello through nginx")
            _ = try await clients[bob].waitForMessages(1)
            clients[bob].send("hi back")
            for client in clients {
                let seen = try await client.waitForMessages(2)
                #expect(seen.map(\.seq) == [1, 2] && seen.map(\.user) == [names[ann], names[bob]])
                #expect(seen.map(\.message) == ["hello through nginx", "hi back"])
            }
            let users = try await front.request(.GET, "/v1/chatrooms/\(room)/users").json?["users"] as? [String]
            #expect(Set(users ?? []) == Set(names), "presence over all three servers")
            // A late joiner gets the history first.
            let zoe = try await ChatClient.join(front.joinURL(room: room, user: "Zoe"))
            #expect(try await zoe.waitForMessages(2).map(\.message) == ["hello through nginx", "hi back"])

            // nginx passes the Host on with its port: a page served through nginx is same-origin.
            let join = "/v1/chatrooms/\(room)/join?user=Zoe"
            for (origin, status) in [("http://127.0.0.1:\(front.nginx.port)", "101"), ("http://elsewhere.example", "403")] {
                let request = "GET \(join) HTTP/1.1\r\nHost: 127.0.0.1:\(front.nginx.port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: \(origin)\r\n\r\n"
                let head = try await RawHTTP.head(port: front.nginx.port, request) { $0 }
                #expect(head.hasPrefix("HTTP/1.1 \(status)"), "Origin \(origin): \(head.prefix(40))")
            }
            #expect(front.nginx.accessLog.contains(#"user="user1" upstream="127.0.0.1:"#), "the access log names the user and the chatd")
            for client in clients + [zoe] { await client.leave() }
        }
    }

    @Test func perAddressLimitsCountTheClientNginxNamesNotNginxOrWhatTheClientClaims() async throws {
        try await NginxFront.with(redisDatabase: 16, auth: "none", perAddressLimit: 2) { front in
            #expect(try await front.request(.POST, "/v1/users", body: #"{"name": "Ann"}"#).status == 200)
            let room = try #require(try await front.request(.POST, "/v1/chatrooms", body: "").json?["id"] as? Int)
            // Ann's joins all hash to one chatd; the clients connect to nginx from addresses of their own.
            let upgrade = RawHTTP.upgradeRequest("/v1/chatrooms/\(room)/join?user=Ann")
            var held = [try await RawHTTP.open(port: front.nginx.port, upgrade, from: "127.0.0.2")]
            held.append(try await RawHTTP.open(port: front.nginx.port, upgrade, from: "127.0.0.2"))
            #expect(held.allSatisfy { $0.head.hasPrefix("HTTP/1.1 101") }, "\(held.map { $0.head.prefix(20) })")
            let third = try await RawHTTP.head(port: front.nginx.port, upgrade, from: "127.0.0.2") { $0 }
            #expect(third.hasPrefix("HTTP/1.1 429") && third.contains("too many connections from your address"), "\(third.prefix(60))")
            // Another client through the same nginx is not counted with 127.0.0.2, even when it
            // claims to be 127.0.0.2: nginx appends the real address and chatd takes that one.
            let forged = RawHTTP.upgradeRequest("/v1/chatrooms/\(room)/join?user=Ann", extraHeaders: ["X-Forwarded-For: 127.0.0.2"])
            let other = try await RawHTTP.open(port: front.nginx.port, forged, from: "127.0.0.3")
            #expect(other.head.hasPrefix("HTTP/1.1 101"), "\(other.head.prefix(40))")
            held.append(other)

            var refusals: [Int] = []
            for port in front.adminPorts {
                refusals.append(MetricsText(try await AdminHTTP.text(port: port, "/metrics")).int("chatd_rejected_total", ["reason": "address_limit"]))
            }
            #expect(refusals.sorted() == [0, 0, 1], "one refusal, on Ann's server: \(refusals)")
            // Once 127.0.0.2 leaves with one socket, it may open one again.
            try await Self.leave(held.removeFirst().channel)
            var answer = ""
            _ = try await eventually("127.0.0.2 was not let in again: \(answer.prefix(200))") {
                answer = try await RawHTTP.head(port: front.nginx.port, upgrade, from: "127.0.0.2") { $0 }
                return answer.hasPrefix("HTTP/1.1 101") ? true : nil
            }
            for connection in held { try await connection.channel.close() }
        }
    }

    /// Leaves a raw joined socket as a WebSocket client does: a close frame (1000, masked with
    /// a zero key), then the server closes the connection, and nginx its own to chatd.
    private static func leave(_ channel: any Channel) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8])).get()
        _ = try await eventually("the server did not close the socket after the close frame") { channel.isActive ? nil : true }
    }

    @Test func aKilledChatdsUsersReconnectThroughNginxToTheNextServerAndResumeWithNothingLost() async throws {
        try await NginxFront.with(redisDatabase: 16) { front in
            var members: [ResumingMember] = []
            for index in 1...12 {
                let name = "member\(index)"
                let created = try await front.request(.POST, "/v1/users", body: #"{"name": "\#(name)"}"#)
                members.append(ResumingMember(name: name, token: try #require(created.json?["token"] as? String)))
            }
            let room = try #require(try await front.request(.POST, "/v1/chatrooms", body: "", token: members[0].token).json?["id"] as? Int)
            let url = { (member: ResumingMember) in front.joinURL(room: room, user: member.name, token: member.token) }
            var landed: [Int] = []
            for member in members { landed.append(try await front.landing { try await member.join(url(member)) }.server) }
            // The server holding the most members dies (at least 4 of 12).
            let victim = try #require((0..<3).max { a, b in landed.filter { $0 == a }.count < landed.filter { $0 == b }.count })
            let moving = members.indices.filter { landed[$0] == victim }.map { members[$0] }
            let staying = members.indices.filter { landed[$0] != victim }.map { members[$0] }

            for member in members { member.post("\(member.name) before 1") }
            for member in members { member.post("\(member.name) before 2") }
            for member in members { try await member.waitForAcks() }
            for member in members { try await member.waitForMessages(24) }

            // The victim's members post once more and it is SIGKILLed before they can know the outcome.
            for member in moving { member.post("\(member.name) in flight") }
            try await front.kill(victim)
            for member in moving { _ = try await member.current.waitForClose() }  // nginx closes their sockets
            for member in staying { member.post("\(member.name) while they are away") }
            for member in staying { try await member.waitForAcks() }

            // They reconnect through nginx, which skips the dead server for the next one on the ring.
            for member in moving {
                let (resumed, server) = try await front.landing { try await member.resume(url(member)) }
                #expect(resumed.recovered == true, "\(member.name): \(resumed)")
                #expect(server != victim)
            }
            for member in members { member.post("\(member.name) after") }
            for member in members { try await member.waitForAcks() }

            // Every acknowledged post, once at every member, in the order of its seq.
            var posted: [Int64: String] = [:]
            for member in members {
                for ack in try member.acks() { posted[try #require(ack.seq)] = member.name }
            }
            let total = 12 * 3 + moving.count + staying.count
            #expect(posted.keys.sorted() == (1...Int64(total)).map { $0 }, "one seq per post, none skipped")
            for member in members { try await member.waitForMessages(total) }
            for member in members {
                let messages = try member.messages()
                #expect(messages.map(\.seq) == (1...Int64(total)).map { $0 }, "\(member.name): \(messages.map(\.seq))")
                #expect(messages.map(\.user) == messages.map { posted[$0.seq ?? 0] }, "\(member.name): each seq from its poster")
                #expect(Set(messages.compactMap(\.epoch)).count == 1, "one epoch throughout")
            }
            for member in members { await member.leave() }
            // nginx logs a WebSocket when it ends: one of the reconnects went from the dead server to the next.
            var log = ""
            _ = try await eventually("a join that nginx took from the dead server to the next:\n\(log.suffix(2_000))") {
                log = front.nginx.accessLog
                return log.split(separator: "\n").contains { $0.contains("\"GET /v1/chatrooms/\(room)/join\" 101") && $0.contains(", 127.0.0.1:") } ? true : nil
            }
            #expect(!members.contains { log.contains($0.token) }, "no token in nginx's access log")
        }
    }
}
