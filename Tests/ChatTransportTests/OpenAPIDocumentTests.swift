import ChatCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import ChatTransport

/// docs/openapi.json against the server: it is what `GET /openapi.json` serves, and it lists
/// exactly the routes of the RouteTable. What each route answers is checked against a live
/// chatd by scripts/openapi/check.sh (schemathesis).
@Suite struct OpenAPIDocumentTests {
    static let publicServer = "http://localhost:8080"
    static let operationKeys: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    static var committedDocument: Data {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return try Data(contentsOf: root.appendingPathComponent("docs/openapi.json"))
        }
    }

    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: committedDocument) as? [String: Any])
    }

    /// The document's operations by path, for the paths served on `listener` (a path item
    /// without `servers` is on the document's first server, the public listener).
    static func documentedOperations(on listener: (Set<String>) -> Bool) throws -> [String: Set<String>] {
        let paths = try #require(try document()["paths"] as? [String: [String: Any]])
        var operations: [String: Set<String>] = [:]
        for (path, item) in paths {
            let servers = (item["servers"] as? [[String: Any]])?.compactMap { $0["url"] as? String } ?? [publicServer]
            guard listener(Set(servers)) else { continue }
            operations[path] = Set(item.keys).intersection(operationKeys)
        }
        return operations
    }

    static func publicRoutes() -> [String: Set<String>] {
        let access = AccessControl(settings: AccessSettings(mode: .open), authenticator: nil, counters: TransportCounters())
        let api = ChatAPI(service: ChatService(backends: .inMemory()), maximumBodyBytes: 16_384, access: access)
        return ChatServer.publicRoutes(api: api, readiness: Readiness()).openAPIOperations
    }

    @Test func theServerServesTheCommittedDocument() async throws {
        let access = AccessControl(settings: AccessSettings(mode: .open), authenticator: nil, counters: TransportCounters())
        let router = ChatServer.makeRouter(
            service: ChatService(backends: .inMemory()), configuration: .init(), access: access, logger: Logger(label: "test")
        )
        let committed = try Self.committedDocument
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(Data(buffer: response.body) == committed, "/openapi.json is not docs/openapi.json")
        }
    }

    @Test func theDocumentIsOpenAPI31() throws {
        let document = try Self.document()
        #expect(document["openapi"] as? String == "3.1.0")
        let servers = try #require(document["servers"] as? [[String: Any]])
        #expect(servers.first?["url"] as? String == Self.publicServer)
        let schemes = try #require((document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any])
        #expect(Set(schemes.keys) == ["bearerAuth", "accessToken", "adminToken"])
    }

    @Test func everyPublicRouteIsDocumentedWithItsMethods() throws {
        let documented = try Self.documentedOperations { $0.contains(Self.publicServer) }
        for (path, methods) in Self.publicRoutes() {
            #expect(documented[path] == methods, "\(path): routed \(methods.sorted()), documented \(documented[path]?.sorted() ?? [])")
        }
    }

    @Test func everyDocumentedPublicPathIsRouted() throws {
        let routes = Self.publicRoutes()
        for (path, methods) in try Self.documentedOperations(on: { $0.contains(Self.publicServer) }) {
            #expect(routes[path] == methods, "\(path): documented \(methods.sorted()), routed \(routes[path]?.sorted() ?? [])")
        }
    }

    /// The admin listener's routes, as its route table lists them, are the document's paths on
    /// the admin server, with the same methods.
    @Test func theAdminListenerIsDocumented() throws {
        let service = ChatService(backends: .inMemory())
        let admin = AdminServer(
            settings: AdminSettings(port: 0), server: ChatServer(service: service), service: service,
            cluster: InMemoryClusterControl(), exposition: { "" }
        )
        let routed = admin.routes.openAPIOperations
        #expect(routed.keys.contains("/v1/admin/nodes") && routed.keys.contains("/metrics"), "the admin table: \(routed)")
        let documented = try Self.documentedOperations { !$0.subtracting([Self.publicServer]).isEmpty }
        #expect(documented == routed)
    }
}
