import ChatTestServices
import Foundation
import Testing

/// chatd's TLS flags and secrets as an operator meets them: startup errors that say what is
/// wrong, backend passwords that never reach its output, and a room carried between two chatd
/// processes by Redis and MariaDB that both speak only TLS.
///
/// These run with the seed's open API (no credentials). Once authentication is on by default,
/// they need `--auth none` (or a token) to create users and join.
@Suite(.timeLimit(.minutes(3)))
struct ChatdTLSTests {
    @Test func badListenerCertificatesStopChatdWithAReason() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let missing = certificates.directory.appendingPathComponent("missing.pem").path
        let cases: [([String], String)] = [
            (["--tls-cert", certificates.certificateFile], "--tls-cert needs --tls-key"),
            (["--tls-key", certificates.keyFile], "--tls-key needs --tls-cert"),
            (["--tls-cert", missing, "--tls-key", certificates.keyFile], "cannot read the TLS certificate file '\(missing)'"),
            (["--tls-cert", certificates.certificateFile, "--tls-key", missing], "cannot read the TLS key file '\(missing)'"),
            (["--tls-cert", certificates.certificateFile, "--tls-key", certificates.otherKeyFile], "does not belong to the certificate"),
            (["--tls-cert", certificates.keyFile, "--tls-key", certificates.keyFile], "PEM certificate"),
            (["--redis", "rediss://127.0.0.1:1", "--redis-ca", missing], "cannot read the CA certificate file '\(missing)'"),
            (["--redis", "redis://127.0.0.1:1", "--redis-ca", certificates.authorityFile], "--redis-ca needs a rediss:// URL"),
            (["--elasticsearch", "http://127.0.0.1:1", "--elasticsearch-ca", certificates.authorityFile], "needs an https:// URL"),
        ]
        for (flags, reason) in cases {
            let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0"] + flags)
            #expect(try await chatd.waitForExit() != 0, "\(flags)")
            #expect(chatd.output.contains(reason), "\(flags): expected '\(reason)' in:\n\(chatd.output)")
            #expect(!chatd.output.contains("chatd listening"))
        }
    }

    @Test func chatdWithTLSFlagsServesHTTPSAndLogsPlainHTTPAtDebugOnly() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        for level in ["info", "debug"] {
            let chatd = try ChatdProcess(
                ["--host", "127.0.0.1", "--port", "0", "--log-level", level],
                environment: ["CHATD_TLS_CERT": certificates.certificateFile, "CHATD_TLS_KEY": certificates.keyFile]
            )
            let port = try await chatd.listeningPort()
            #expect(chatd.output.contains("TLS only"), "the listening line says so")
            let plain = try await RawHTTP.exchange(port: port, "GET /v1/chatrooms HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(!plain.contains("HTTP/1."))
            let https = try await TLSListenerTests.curl(["--cacert", certificates.authorityFile, "https://127.0.0.1:\(port)/v1/chatrooms"])
            #expect(https.status == 200 && https.body == #"{"ids":[]}"#, "\(https)")
            kill(chatd.process.processIdentifier, SIGTERM)
            #expect(try await chatd.waitForExit() == 0)
            #expect(chatd.output.contains("TLS handshake failed") == (level == "debug"), "\(level):\n\(chatd.output)")
        }
    }

    @Test(arguments: [
        ["--redis", "rediss://:hunter2-redis@127.0.0.1:notaport"],
        ["--redis", "redis://default:hunter2-redis@127.0.0.1:1"],  // well-formed, unreachable
        ["--mariadb", "mariadb://chat:hunter2-maria@:3306/chat"],
        ["--mariadb", "mariadb://chat:hunter2-maria@127.0.0.1:1/chat?ssl=true"],  // unreachable
        ["--elasticsearch", "https://elastic:hunter2-es@127.0.0.1:badport"],
        ["--elasticsearch", "https://elastic:hunter2-es@127.0.0.1:1"],  // unreachable
        ["migrate", "--mariadb", "mysql://chat:hunter2-maria@127.0.0.1:1/chat"],
    ])
    func aBackendPasswordNeverReachesTheOutput(_ flags: [String]) async throws {
        let chatd = try ChatdProcess(flags.first == "migrate" ? flags : ["--host", "127.0.0.1", "--port", "0", "--log-level", "trace"] + flags)
        #expect(try await chatd.waitForExit() != 0)
        #expect(!chatd.output.contains("hunter2"), "the password leaked:\n\(chatd.output)")
        #expect(chatd.output.contains(":***@"), "the URL is echoed, masked:\n\(chatd.output)")
    }

    @Test func migrateReachesElasticsearchOverHTTPSWithElasticsearchCA() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let fake = try await FakeElasticsearch.start(certificates: certificates)
        let untrusted = try ChatdProcess(["migrate", "--elasticsearch", fake.url])
        #expect(try await untrusted.waitForExit() != 0)
        #expect(untrusted.output.contains("CERTIFICATE_VERIFY_FAILED"), "\(untrusted.output)")
        let trusted = try ChatdProcess(["migrate", "--elasticsearch", fake.url, "--elasticsearch-ca", certificates.authorityFile])
        #expect(try await trusted.waitForExit() == 0, "\(trusted.output)")
        await fake.stop()
    }

    @Test func redisAndMariaDBOverTLSCarryARoomBetweenTwoServers() async throws {
        let certificates = try await TestCertificates.make()
        let redis = OwnServer(.redis, certificates: certificates, password: "hunter2-redis")
        let mariadb = OwnServer(.mariadb, certificates: certificates)
        defer { certificates.remove() }
        do {
            try await redis.start()
            try await mariadb.start()
            // The CA by flag for Redis (--redis-ca), in the URL for MariaDB (?ssl=true&ca=).
            let redisURL = "rediss://:hunter2-redis@localhost:\(redis.port)"
            let migrate = try ChatdProcess(["migrate", "--mariadb", mariadb.url])
            #expect(try await migrate.waitForExit() == 0, "chatd migrate: \(migrate.output)")
            let flags = [
                "--host", "127.0.0.1", "--port", "0", "--redis", redisURL, "--redis-ca", certificates.authorityFile,
                "--mariadb", mariadb.url,
            ]
            let first = try ChatdProcess(flags)
            let second = try ChatdProcess(flags)
            let (one, two) = (try await first.listeningPort(), try await second.listeningPort())

            let annToken = try await LoopbackHTTP.createUser("Ann", port: one)
            #expect(try await LoopbackHTTP.request(.POST, port: two, "/v1/users", body: #"{"name": "Ann"}"#).status == 409, "one user table")
            let bobToken = try await LoopbackHTTP.createUser("Bob", port: two)
            // Ann's token, kept as a hash in MariaDB over TLS, is known to the second server too.
            let room = try await LoopbackHTTP.createRoom(port: two, token: annToken)
            let ann = try await ChatClient.join(LoopbackHTTP.joinURL(port: one, room: room, token: annToken))
            let bob = try await ChatClient.join(LoopbackHTTP.joinURL(port: two, room: room, token: bobToken))
            for port in [one, two] { try await MultiServerTests.waitForUsers(port: port, room: room, ["Ann", "Bob"]) }
            ann.send("over rediss from the first server")
            _ = try await bob.waitForMessages(1)
            bob.send("and back from the second")
            let seenByAnn = try await ann.waitForMessages(2)
            #expect(try await bob.waitForMessages(2) == seenByAnn, "one order on both servers")
            #expect(seenByAnn.map(\.message) == ["over rediss from the first server", "and back from the second"])
            await ann.leave()
            await bob.leave()

            for chatd in [first, second] {
                kill(chatd.process.processIdentifier, SIGTERM)
                #expect(try await chatd.waitForExit() == 0)
                // The startup line names both backends, with TLS, and no password.
                let output = chatd.output
                #expect(output.contains("backends"), "\(output)")
                #expect(output.contains("Redis rediss://:***@localhost:\(redis.port)?ca=\(certificates.authorityFile)"), "\(output)")
                #expect(output.contains("MariaDB mariadb://chat:***@127.0.0.1:\(mariadb.port)/chat_test?ssl=true&ca="), "\(output)")
                #expect(!output.contains("hunter2"))
            }
        } catch {
            await redis.remove()
            await mariadb.remove()
            throw error
        }
        await redis.remove()
        await mariadb.remove()
    }
}
