import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Creates users and rooms over the seed HTTP API. Not on the measured path.
struct SetupClient: Sendable {
    let http: HTTPClient
    let baseURL: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func createRoom() async throws -> Int {
        let (status, body) = try await send(.POST, "/v1/chatrooms", body: nil)
        guard status == 200, let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let id = json["id"] as? Int
        else { throw Failure(description: "POST /v1/chatrooms: \(status) \(body)") }
        return id
    }

    func createUser(_ name: String) async throws {
        let (status, body) = try await send(.POST, "/v1/users", body: #"{"name":"\#(name)"}"#)
        guard status == 200 else { throw Failure(description: "POST /v1/users \(name): \(status) \(body)") }
    }

    /// How many users the server lists as connected to a room.
    func connectedUsers(room: Int) async throws -> Int {
        let (status, body) = try await send(.GET, "/v1/chatrooms/\(room)/users", body: nil)
        guard status == 200, let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let users = json["users"] as? [Any]
        else { throw Failure(description: "GET /v1/chatrooms/\(room)/users: \(status) \(body)") }
        return users.count
    }

    private func send(_ method: HTTPMethod, _ path: String, body: String?) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }
}
