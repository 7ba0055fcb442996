import ChatAuth
import ChatCore
import ChatTestServices
import ChatTransport
import Crypto
import Foundation
import JWTKit
import NIOWebSocket
import Testing

/// `--auth jwt` over loopback: tokens from the operator's identity provider, signed here with
/// keys made in the test (an HS256 secret, a P-256 key pair for ES256).
@Suite(.timeLimit(.minutes(2)))
struct JWTAuthenticationTests {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var aud: AudienceClaim?
        var iss: IssuerClaim?
        var rooms: [Int64]?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static let secret = "an HS256 secret of at least 32 bytes, for tests"

    static func claims(_ user: String, expiresIn seconds: Double = 600, audience: String? = "chat", rooms: [Int64]? = nil) -> Claims {
        Claims(
            sub: .init(value: user), exp: .init(value: Date().addingTimeInterval(seconds)),
            aud: audience.map { .init(value: [$0]) }, iss: .init(value: "https://id.example"), rooms: rooms
        )
    }

    static func hs256(_ claims: Claims, secret: String = secret) async throws -> String {
        try await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256).sign(claims)
    }

    /// Runs `body` on a `--auth jwt` server checking `aud` "chat" and `iss` https://id.example.
    static func withJWTServer(publicKeyPEM: String? = nil, _ body: (TestServer) async throws -> Void) async throws {
        let authenticator = try await JWTAuthenticator.make(
            .init(secret: publicKeyPEM == nil ? secret : nil, publicKeyPEM: publicKeyPEM, issuer: "https://id.example", audience: "chat")
        )
        try await TestServer.with(auth: .jwt, authenticator: authenticator, body)
    }

    static func join(_ server: TestServer, room: RoomID, token: String) -> String {
        "ws://127.0.0.1:\(server.port)/v1/chatrooms/\(room)/join?access_token=\(token)"
    }

    static func status(_ server: TestServer, room: RoomID, token: String) async throws -> Int {
        try await server.request(.GET, "/v1/chatrooms/\(room)/join?access_token=\(token)", headers: AuthenticationTests.upgrade).status
    }

    @Test func hs256TokensAdmitTheirSubjectAndRefuseWhatTheyMust() async throws {
        try await Self.withJWTServer { server in
            let valid = try await Self.hs256(Self.claims("Zoe"))
            let created = try await server.request(.POST, "/v1/chatrooms", headers: [("Authorization", "Bearer \(valid)")])
            let room = RoomID(Int64(try #require(created.json?["id"] as? Int)))
            // No user row: a valid token's subject exists implicitly.
            let zoe = try await ChatClient.join(Self.join(server, room: room, token: valid))
            zoe.send("hi")
            #expect(try await zoe.waitForMessages(1).first?.user == "Zoe")

            let expired = try await Self.hs256(Self.claims("Zoe", expiresIn: -60))
            #expect(try await Self.status(server, room: room, token: expired) == 401, "expired")
            let forged = try await Self.hs256(Self.claims("Zoe"), secret: "another secret, also 32 bytes or longer")
            #expect(try await Self.status(server, room: room, token: forged) == 401, "wrong signature")
            let otherAudience = try await Self.hs256(Self.claims("Zoe", audience: "someone-else"))
            #expect(try await Self.status(server, room: room, token: otherAudience) == 401, "wrong aud")
            let elsewhere = try await Self.hs256(Self.claims("Zoe", rooms: [room.rawValue + 1]))
            #expect(try await Self.status(server, room: room, token: elsewhere) == 403, "rooms claim excludes the room")
            let here = try await Self.hs256(Self.claims("Zoe", rooms: [room.rawValue]))
            #expect(try await server.request(.GET, "/v1/chatrooms/\(room)/join?access_token=\(here)").status == 426, "rooms claim includes it")
            zoe.send("still here")
            #expect(try await zoe.waitForMessages(2).last?.message == "still here")
            await zoe.leave()
        }
    }

    @Test func es256TokensVerifyWithThePublicKeyAndAnHS256TokenDoesNot() async throws {
        let key = P256.Signing.PrivateKey()
        let signer = try ES256PrivateKey(pem: key.pemRepresentation)
        try await Self.withJWTServer(publicKeyPEM: key.publicKey.pemRepresentation) { server in
            let valid = try await JWTKeyCollection().add(ecdsa: signer).sign(Self.claims("Yan"))
            let created = try await server.request(.POST, "/v1/chatrooms", headers: [("Authorization", "Bearer \(valid)")])
            let room = RoomID(Int64(try #require(created.json?["id"] as? Int)))
            let yan = try await ChatClient.join(Self.join(server, room: room, token: valid))
            let otherKey = try ES256PrivateKey(pem: P256.Signing.PrivateKey().pemRepresentation)
            let forged = try await JWTKeyCollection().add(ecdsa: otherKey).sign(Self.claims("Yan"))
            #expect(try await Self.status(server, room: room, token: forged) == 401, "signed by another key")
            let symmetric = try await Self.hs256(Self.claims("Yan"))
            #expect(try await Self.status(server, room: room, token: symmetric) == 401, "no HS256 without a secret")
            let expired = try await JWTKeyCollection().add(ecdsa: signer).sign(Self.claims("Yan", expiresIn: -1))
            #expect(try await Self.status(server, room: room, token: expired) == 401, "expired")
            let otherAudience = try await JWTKeyCollection().add(ecdsa: signer).sign(Self.claims("Yan", audience: "x"))
            #expect(try await Self.status(server, room: room, token: otherAudience) == 401, "wrong aud")
            yan.send("ok")
            #expect(try await yan.waitForMessages(1).first?.user == "Yan")
            await yan.leave()
        }
    }

    @Test func aSocketWhoseTokenExpiresIsClosedWith4001() async throws {
        try await Self.withJWTServer { server in
            let long = try await Self.hs256(Self.claims("Host"))
            let created = try await server.request(.POST, "/v1/chatrooms", headers: [("Authorization", "Bearer \(long)")])
            let room = RoomID(Int64(try #require(created.json?["id"] as? Int)))
            let staying = try await ChatClient.join(Self.join(server, room: room, token: long))
            let brief = try await ChatClient.join(Self.join(server, room: room, token: try await Self.hs256(Self.claims("Brief", expiresIn: 5))))
            #expect(try await brief.waitForClose(within: 30) == WebSocketErrorCode(codeNumber: 4001))
            #expect(server.counters.expiredCredentialsClosed == 1)
            staying.send("the others stay")
            #expect(try await staying.waitForMessages(1).last?.message == "the others stay")
            await staying.leave()
        }
    }
}
