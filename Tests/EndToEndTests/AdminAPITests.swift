import ChatCore
import ChatStorage
import ChatTestServices
import ChatTransport
import Foundation
import Logging
import NIOHTTP1
import NIOWebSocket
import Testing

/// The admin listener's API (docs/operations.md, "Admin API") on one in-memory server: every
/// route refused without the token, with a wrong one and while disabled; each call's answers.
@Suite(.timeLimit(.minutes(2)))
struct AdminAPITests {
    static let routes: [(HTTPMethod, String, String?)] = [
        (.POST, "/v1/admin/chatrooms/1/messages", #"{"message": "hi"}"#),
        (.POST, "/v1/admin/users/Ann/disconnect", "{}"),
        (.GET, "/v1/admin/chatrooms", nil),
        (.GET, "/v1/admin/chatrooms/1/presence", nil),
        (.GET, "/v1/admin/nodes", nil),
    ]

    @Test func everyAdminRouteIsRefusedWithoutTheTokenWithAWrongOneAndWhileDisabled() async throws {
        let node = await AdminTestNode.start(backends: .inMemory())
        let disabled = await AdminTestNode.start(backends: .inMemory(), token: nil)
        do {
            for (method, path, body) in Self.routes {
                let missing = try await AdminHTTP.request(method, port: node.adminPort, path, body: body, token: nil)
                #expect(missing.status == 401, "\(method) \(path) without a token")
                let wrong = try await AdminHTTP.request(method, port: node.adminPort, path, body: body, token: "wrong-token-0123456789abcdef")
                #expect(wrong.status == 401, "\(method) \(path) with a wrong token")
                let off = try await AdminHTTP.request(method, port: disabled.adminPort, path, body: body)
                #expect(off.status == 403, "\(method) \(path) disabled")
                #expect(off.json?["message"] as? String == "the admin API is disabled: start chatd with --admin-token")
                let publicListener = try await LoopbackHTTP.request(method, port: node.port, path, body: body, token: AdminTestNode.adminToken)
                #expect(publicListener.status == 404, "\(method) \(path) is not on the public listener")
            }
            #expect(try await node.scrape().int("chatd_rejected_total", ["reason": "admin_token"]) == 2 * Self.routes.count)
            await node.stop()
            await disabled.stop()
        } catch {
            await node.stop()
            await disabled.stop()
            throw error
        }
    }

    @Test func publishDisconnectRoomsPresenceAndNodesOnOneServer() async throws {
        let node = await AdminTestNode.start(backends: .inMemory())
        do {
            let room = try await node.createRoom()
            try await node.createUser("Ann")
            try await node.createUser("Bob")
            let ann = try await ChatClient.join(node.joinURL(room: room, user: "Ann"))
            let annAgain = try await ChatClient.join(node.joinURL(room: room, user: "Ann"))
            let bob = try await ChatClient.join(node.joinURL(room: room, user: "Bob"))

            let asServer = try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/chatrooms/\(room)/messages", body: #"{"message": "maintenance at noon"}"#)
            #expect(asServer.status == 200)
            #expect(asServer.json?["user"] as? String == "server" && asServer.json?["chatroom"] as? Int == room && asServer.json?["seq"] as? Int == 1)
            #expect(asServer.json?["epoch"] is String && asServer.json?["timestamp"] is Int)
            let asBob = try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/chatrooms/\(room)/messages", body: #"{"message": "hi", "user": "Bob"}"#)
            #expect(asBob.status == 200 && asBob.json?["user"] as? String == "Bob")
            for client in [ann, annAgain, bob] {
                #expect(try await client.waitForMessages(2).map(\.message) == ["maintenance at noon", "hi"])
            }
            let nobody = try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/chatrooms/\(room)/messages", body: #"{"message": "x", "user": "Nobody"}"#)
            #expect(nobody.status == 404)
            #expect(try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/chatrooms/999999/messages", body: #"{"message": "x"}"#).status == 404)
            #expect(try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/chatrooms/\(room)/messages", body: #"{"text": "x"}"#).status == 400)
            #expect(try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/chatrooms/\(room)/messages", body: #"{"message": ""}"#).status == 400)

            let rooms = try await AdminHTTP.request(.GET, port: node.adminPort, "/v1/admin/chatrooms")
            let listed = rooms.json?["chatrooms"] as? [[String: Int]]
            #expect(listed == [["id": room, "users": 2, "connections": 3]])
            let presence = try await AdminHTTP.request(.GET, port: node.adminPort, "/v1/admin/chatrooms/\(room)/presence")
            #expect(presence.json?["chatroom"] as? Int == room)
            #expect((presence.json?["users"] as? [[String: Any]])?.map { "\($0["user"]!)=\($0["connections"]!)" } == ["Ann=2", "Bob=1"])
            #expect(try await AdminHTTP.request(.GET, port: node.adminPort, "/v1/admin/chatrooms/x/presence").status == 400)
            #expect(try await AdminHTTP.request(.GET, port: node.adminPort, "/v1/admin/chatrooms/999999/presence").status == 404)

            let nodes = try await AdminHTTP.request(.GET, port: node.adminPort, "/v1/admin/nodes")
            let only = (nodes.json?["nodes"] as? [[String: Any]]) ?? []
            #expect(only.count == 1)
            #expect(only.first?["id"] as? String == node.service.server.rawValue)
            #expect(only.first?["address"] as? String == "127.0.0.1:\(node.port)")
            #expect(only.first?["connections"] as? Int == 3 && only.first?["rooms"] as? Int == 1 && only.first?["version"] as? String == "test")
            #expect(only.first?["uptimeSeconds"] is Double && only.first?["lastSeen"] is Int)

            #expect(try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/users/Ann/disconnect", body: #"{"code": 3000}"#).status == 400)
            let long = String(repeating: "é", count: 62)  // 124 bytes
            #expect(try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/users/Ann/disconnect", body: #"{"reason": "\#(long)"}"#).status == 400)
            let stranger = try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/users/Nobody/disconnect")
            #expect(stranger.status == 200 && stranger.json?["localConnections"] as? Int == 0 && stranger.json?["code"] as? Int == 4000, "no body: the defaults")
            let disconnect = try await AdminHTTP.request(.POST, port: node.adminPort, "/v1/admin/users/Ann/disconnect", body: #"{"code": 4003, "reason": "banned"}"#)
            #expect(disconnect.status == 200)
            #expect(disconnect.json?["user"] as? String == "Ann" && disconnect.json?["code"] as? Int == 4003)
            #expect(disconnect.json?["reason"] as? String == "banned" && disconnect.json?["localConnections"] as? Int == 2)
            #expect(try await ann.waitForClose() == WebSocketErrorCode(codeNumber: 4003))
            #expect(try await annAgain.waitForClose() == WebSocketErrorCode(codeNumber: 4003))
            bob.send("still here")
            #expect(try await bob.waitForMessages(3).last?.message == "still here")
            #expect(try await node.scrape().int("chatd_ws_closes_total", ["code": "4003"]) == 2)
            await bob.leave()
            await node.stop()
        } catch {
            await node.stop()
            throw error
        }
    }
}
