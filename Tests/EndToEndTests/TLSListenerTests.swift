import ChatTestServices
import ChatTransport
import Foundation
import Testing

/// https and wss on the listener (`ChatServerConfiguration.tls`), with a CA made for the test,
/// against independent clients: Debian's curl and Python's `websockets`.
///
/// These run with the seed's open API (no credentials). Once authentication is on by default,
/// they need the open mode (`--auth none`, or its configuration value) or a token.
@Suite(.timeLimit(.minutes(3)))
struct TLSListenerTests {
    static func configuration(_ certificates: TestCertificates) throws -> ChatServerConfiguration {
        var configuration = ChatServerConfiguration()
        configuration.tls = try ChatServerTLS(certificateFile: certificates.certificateFile, keyFile: certificates.keyFile)
        return configuration
    }

    /// curl's status and body: `-w` appends the status on a line of its own.
    static func curl(_ arguments: [String]) async throws -> (exit: Int32, status: Int?, body: String) {
        let run = try ExternalProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "-w", "\n%{http_code}"] + arguments)
        let exit = try await run.waitForExit(within: 20)
        var lines = run.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let status = lines.popLast().flatMap { Int($0) }
        return (exit, status, lines.joined(separator: "\n"))
    }

    @Test func curlSpeaksHTTPSAndPlainHTTPIsRefusedWhileTheServerKeepsServing() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await TestServer.with(configuration: try Self.configuration(certificates)) { server in
            let base = "https://127.0.0.1:\(server.port)"
            let trust = ["--cacert", certificates.authorityFile]
            let user = try await Self.curl(trust + ["-X", "POST", "-H", "Content-Type: application/json", "-d", #"{"name":"Ann"}"#, "\(base)/v1/users"])
            #expect(user.exit == 0 && user.status == 200, "\(user)")
            let createdUser = try JSONSerialization.jsonObject(with: Data(user.body.utf8)) as? [String: Any]
            let token = try #require(createdUser?["token"] as? String, "\(user)")
            let created = try await Self.curl(trust + ["-X", "POST", "-H", "Authorization: Bearer \(token)", "\(base)/v1/chatrooms"])
            #expect(created.status == 200 && created.body == #"{"id":1}"#, "\(created)")
            let page = try await Self.curl(trust + ["-D", "-", "\(base)/"])
            #expect(page.status == 200, "the browser client is served over https")

            // Not trusting the test CA, curl refuses the certificate (exit 60).
            #expect(try await Self.curl(["\(base)/v1/chatrooms"]).exit == 60)

            // Plain HTTP to the TLS port: no HTTP answer, the connection is closed, no hang.
            let answer = try await RawHTTP.exchange(port: server.port, "GET /v1/chatrooms HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(!answer.contains("HTTP/1."), "plain HTTP got an HTTP answer: \(answer.prefix(80))")
            let plainCurl = try await Self.curl(["http://127.0.0.1:\(server.port)/v1/chatrooms"])
            #expect(plainCurl.exit != 0 && plainCurl.status != 200, "\(plainCurl)")
            // A plain WebSocket upgrade gets nowhere either.
            let upgrade = try await RawHTTP.exchange(
                port: server.port,
                "GET /v1/chatrooms/1/join?user=Ann HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            #expect(!upgrade.contains("HTTP/1."))

            // The server keeps serving https.
            let listed = try await Self.curl(trust + ["\(base)/v1/chatrooms"])
            #expect(listed.status == 200 && listed.body == #"{"ids":[1]}"#, "\(listed)")
        }
    }

    @Test func aConnectionThatNeverStartsItsHandshakeIsClosedAtTheFirstRequestDeadline() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        var configuration = try Self.configuration(certificates)
        configuration.abuseLimits.requestDeadline = .seconds(3)  // curl's handshake must fit in it on a busy machine; RawHTTP waits 10 s
        try await TestServer.with(configuration: configuration) { server in
            // Sends nothing at all: RawHTTP fails if the server has not closed within 30 s.
            let answer = try await RawHTTP.exchange(port: server.port, "")
            #expect(answer.isEmpty)
            let listed = try await Self.curl(["--cacert", certificates.authorityFile, "https://127.0.0.1:\(server.port)/v1/chatrooms"])
            #expect(listed.status == 200, "\(listed)")
        }
    }

    @Test func pythonWebsocketsChatsOverWSSTrustingTheTestCA() async throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["CHAT_TEST_PYTHON"],
            "CHAT_TEST_PYTHON (a Python with the `websockets` package) is unset: run scripts/test.sh"
        )
        let script = ServiceScript.packageRoot.appendingPathComponent("scripts/interop/tls_interop.py")
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await TestServer.with(configuration: try Self.configuration(certificates)) { server in
            let run = try ExternalProcess(python, [script.path, "--url", "https://127.0.0.1:\(server.port)", "--ca", certificates.authorityFile])
            let status = try await run.waitForExit(within: 60)
            #expect(status == 0, "tls_interop.py failed:\n\(run.output)")
        }
    }

    @Test func aKeyThatDoesNotBelongToTheCertificateIsRefusedAtConfiguration() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        #expect {
            try ChatServerTLS(certificateFile: certificates.certificateFile, keyFile: certificates.otherKeyFile)
        } throws: { "\($0)".contains("does not belong to the certificate") }
        #expect {
            try ChatServerTLS(certificateFile: certificates.directory.appendingPathComponent("missing.pem").path, keyFile: certificates.keyFile)
        } throws: { "\($0)".contains("cannot read the TLS certificate file") }
        #expect {
            try ChatServerTLS(certificateFile: certificates.keyFile, keyFile: certificates.keyFile)
        } throws: { "\($0)".contains("is not a PEM certificate") || "\($0)".contains("holds no PEM certificate") }
        #expect {
            try ChatServerTLS(certificateFile: certificates.certificateFile, keyFile: certificates.certificateFile)
        } throws: { "\($0)".contains("is not a PEM private key") }
    }
}
