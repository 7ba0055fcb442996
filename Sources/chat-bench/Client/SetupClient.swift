import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The tokens a server answered user creations with (chatd's default `--auth token`); empty
/// against a server that gives none (the seed API, `--auth none`).
final class BenchTokens: Sendable {
    private let byUser = Mutex<[String: String]>([:])
    /// The user rooms are created as, once the server asked for a token.
    let roomMaker = "bench-rooms-\(UInt32.random(in: 0...UInt32.max))"

    func token(of user: String) -> String? { byUser.withLock { $0[user] } }
    func remember(_ token: String, of user: String) { byUser.withLock { $0[user] = token } }
}

/// Creates users and rooms over the seed HTTP API. Not on the measured path.
struct SetupClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let tokens: BenchTokens

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Creates a room. A server that wants a token (401) gets one of a room-making user of this run's own.
    func createRoom() async throws -> Int {
        var (status, body) = try await send(.POST, "/v1/chatrooms", body: nil, token: tokens.token(of: tokens.roomMaker))
        if status == 401, tokens.token(of: tokens.roomMaker) == nil {
            try await createUser(tokens.roomMaker)
            (status, body) = try await send(.POST, "/v1/chatrooms", body: nil, token: tokens.token(of: tokens.roomMaker))
        }
        if status == 429 {
            throw Failure(description: "POST /v1/chatrooms: 429 \(body); start chatd with --room-quota 0 for runs with many rooms")
        }
        guard status == 200, let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let id = json["id"] as? Int
        else { throw Failure(description: "POST /v1/chatrooms: \(status) \(body)") }
        return id
    }

    /// Creates a user, keeping the token the server answers with, if any (chatd's `--auth token`).
    func createUser(_ name: String) async throws {
        let (status, body) = try await send(.POST, "/v1/users", body: #"{"name":"\#(name)"}"#)
        guard status == 200 else { throw Failure(description: "POST /v1/users \(name): \(status) \(body)") }
        if let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], let token = json["token"] as? String {
            tokens.remember(token, of: name)
        }
    }

    /// How many users the server lists as connected to a room.
    func connectedUsers(room: Int) async throws -> Int {
        let (status, body) = try await send(.GET, "/v1/chatrooms/\(room)/users", body: nil, token: tokens.token(of: tokens.roomMaker))
        guard status == 200, let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let users = json["users"] as? [Any]
        else { throw Failure(description: "GET /v1/chatrooms/\(room)/users: \(status) \(body)") }
        return users.count
    }

    private func send(_ method: HTTPMethod, _ path: String, body: String?, token: String? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }
}
