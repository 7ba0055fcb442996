import ChatCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import ChatTransport

/// The HTTP API in process, through Hummingbird's router test mode: no sockets.
@Suite struct HTTPRouterTests {
    static func withRouter(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        // The seed's open API (`--auth none`); the token flow is tested end to end.
        let access = AccessControl(settings: AccessSettings(mode: .open), authenticator: nil, counters: TransportCounters())
        let router = ChatServer.makeRouter(
            service: ChatService(backends: .inMemory()), configuration: .init(), access: access, logger: Logger(label: "test")
        )
        try await Application(router: router).test(.router) { client in try await body(client) }
    }

    static func message(_ response: TestResponse) -> String {
        let json = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
        return json?["message"] as? String ?? ""
    }

    static let json: HTTPFields = [.contentType: "application/json"]

    @Test func aKnownPathWithTheWrongMethodIs405WithAllowOnEveryRoute() async throws {
        try await Self.withRouter { client in
            let search = try await client.execute(uri: "/v1/chatrooms/1/messages?q=hi", method: .post)
            #expect(search.status == .methodNotAllowed)
            #expect(search.headers[.allow] == "GET")
            let users = try await client.execute(uri: "/v1/users", method: .put)
            #expect(users.status == .methodNotAllowed)
            #expect(Set(users.headers[.allow]?.components(separatedBy: ", ") ?? []) == ["POST", "DELETE"])
            #expect(Self.message(users).contains("not allowed"))
            let unknown = try await client.execute(uri: "/v1/nothing", method: .get)
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }

    @Test(arguments: ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", nil])
    func aBodyThatIsNotDeclaredJSONIs415(_ contentType: String?) async throws {
        try await Self.withRouter { client in
            var headers = HTTPFields()
            if let contentType { headers[.contentType] = contentType }
            for path in ["/v1/users", "/v1/chatrooms/users"] {
                let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: #"{"name": "Eve"}"#))
                #expect(response.status == .unsupportedMediaType, "\(path) with \(contentType ?? "no type")")
                #expect(Self.message(response).contains("application/json"))
            }
            let created = try await client.execute(uri: "/v1/users", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"name": "Eve"}"#))
            #expect(created.status == .ok, "the user was not created by the refused requests")
        }
    }

    @Test func jsonWithACharsetIsAccepted() async throws {
        try await Self.withRouter { client in
            let response = try await client.execute(
                uri: "/v1/users", method: .post, headers: [.contentType: "Application/JSON; charset=utf-8"], body: ByteBuffer(string: #"{"name": "Ann"}"#))
            #expect(response.status == .ok)
        }
    }

    @Test func searchBoundsAre400() async throws {
        try await Self.withRouter { client in
            let room = try await client.execute(uri: "/v1/chatrooms", method: .post)
            #expect(room.status == .ok)
            for query in ["limit=101", "limit=0", "offset=10001", "offset=-1", "limit=x"] {
                let response = try await client.execute(uri: "/v1/chatrooms/1/messages?q=hi&\(query)", method: .get)
                #expect(response.status == .badRequest, "\(query)")
            }
            let fine = try await client.execute(uri: "/v1/chatrooms/1/messages?q=hi&limit=100&offset=10000", method: .get)
            #expect(fine.status == .ok)
        }
    }
}
