import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// HTTP requests to a chatd on a loopback port (a spawned process, where no TestServer exists).
enum LoopbackHTTP {
    struct Reply {
        let status: Int
        let json: [String: Any]?
    }

    static func request(_ method: HTTPMethod, port: Int, _ path: String, body: String? = nil, token: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")  // the API takes JSON bodies only
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), json: try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any])
    }
}

extension LoopbackHTTP {
    /// Creates `name` on a default (`--auth token`) chatd and returns the token it answered with.
    static func createUser(_ name: String, port: Int) async throws -> String {
        let reply = try await request(.POST, port: port, "/v1/users", body: #"{"name": "\#(name)"}"#)
        guard reply.status == 200, let token = reply.json?["token"] as? String else {
            throw TestFailure("create user \(name): \(reply.status), no token")
        }
        return token
    }

    /// Creates a room with `token` and returns its id.
    static func createRoom(port: Int, token: String) async throws -> Int {
        let reply = try await request(.POST, port: port, "/v1/chatrooms", body: "", token: token)
        guard reply.status == 200, let id = reply.json?["id"] as? Int else { throw TestFailure("create room: \(reply.status)") }
        return id
    }

    /// The WebSocket join URL of a token's user.
    static func joinURL(port: Int, room: Int, token: String) -> String {
        "ws://127.0.0.1:\(port)/v1/chatrooms/\(room)/join?access_token=\(token)"
    }
}
