import ChatCore
import Crypto
import Foundation
import JWTKit
import NIOCore
import NIOHTTP1
import Testing

/// The attacks against the `chatd` executable with its authentication flags, each
/// refused with its status while the room keeps chatting.
@Suite(.timeLimit(.minutes(2)))
struct ChatdAuthenticationTests {
    static let admin = "process-admin-token-0123456789"

    @Test func theDefaultChatdRefusesTheSeedsAttacks() async throws {
        let chatd = try ChatdProcess(
            ["--host", "127.0.0.1", "--port", "0", "--room-quota", "3"], environment: ["CHATD_ADMIN_TOKEN": Self.admin]
        )
        let port = try await chatd.listeningPort()
        let token = try await LoopbackHTTP.createUser("Owner", port: port)
        let room = try await LoopbackHTTP.createRoom(port: port, token: token)
        let owner = try await ChatClient.join(LoopbackHTTP.joinURL(port: port, room: room, token: token))

        // Joining an existing user's name with no credential.
        await #expect(throws: (any Error).self) { _ = try await ChatClient.join("ws://127.0.0.1:\(port)/v1/chatrooms/\(room)/join?user=Owner") }
        #expect(try await LoopbackHTTP.request(.GET, port: port, "/v1/chatrooms/\(room)/join?user=Owner").status == 401)
        // DELETE /v1/users with no credential, with a user's token, with the admin token.
        #expect(try await LoopbackHTTP.request(.DELETE, port: port, "/v1/users").status == 401)
        #expect(try await LoopbackHTTP.request(.DELETE, port: port, "/v1/users", token: token).status == 403)
        // POST /v1/chatrooms in a loop: the quota (3 a minute, one already used) stops it.
        var statuses: [Int] = []
        for _ in 0..<5 { statuses.append(try await LoopbackHTTP.request(.POST, port: port, "/v1/chatrooms", body: "", token: token).status) }
        #expect(statuses == [200, 200, 429, 429, 429])

        owner.send("still chatting")
        #expect(try await owner.waitForMessages(1).first?.message == "still chatting")
        #expect(try await LoopbackHTTP.request(.DELETE, port: port, "/v1/users", token: Self.admin).status == 200)
        #expect(try await LoopbackHTTP.request(.GET, port: port, "/v1/chatrooms/\(room)/join?access_token=\(token)").status == 401)
        await owner.leave()
        chatd.process.interrupt()
        #expect(try await chatd.waitForExit() == 0)
        #expect(!chatd.output.contains(token), "a token never reaches the log")
    }

    @Test func jwtModeVerifiesES256TokensWithAPublicKeyFile() async throws {
        let key = P256.Signing.PrivateKey()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("chatd-jwt-\(UUID().uuidString).pem")
        try key.publicKey.pemRepresentation.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let chatd = try ChatdProcess([
            "--host", "127.0.0.1", "--port", "0", "--auth", "jwt", "--jwt-public-key", file.path, "--jwt-audience", "chat",
            "--log-level", "debug",
        ])
        let port = try await chatd.listeningPort()
        let signer = try await JWTKeyCollection().add(ecdsa: ES256PrivateKey(pem: key.pemRepresentation))
        let token = try await signer.sign(JWTAuthenticationTests.claims("Idp User"))
        let room = try await LoopbackHTTP.createRoom(port: port, token: token)
        let member = try await ChatClient.join(LoopbackHTTP.joinURL(port: port, room: room, token: token))
        member.send("signed in elsewhere")
        #expect(try await member.waitForMessages(1).first?.user == "Idp User")
        let otherAudience = try await signer.sign(JWTAuthenticationTests.claims("Idp User", audience: "other"))
        #expect(try await LoopbackHTTP.request(.GET, port: port, "/v1/chatrooms/\(room)/join?access_token=\(otherAudience)").status == 401)
        await member.leave()
        chatd.process.interrupt()
        #expect(try await chatd.waitForExit() == 0)
        #expect(!chatd.output.contains(token), "not even at debug level")
    }
}
