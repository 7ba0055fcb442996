import ChatCore
import ChatStorage
import ChatTestServices
import Testing

/// `rediss://` against a redis-server of the test's own that speaks only TLS (`--port 0
/// --tls-port`), with a certificate from a CA made for the test and a password.
@Suite(.serialized) struct RedisTLSTests {
    @Test func commandsAndPubSubRunOverTLSTrustingThePrivateCA() async throws {
        let certificates = try await TestCertificates.make()
        let server = OwnServer(.redis, certificates: certificates, password: "tls-test-pw")
        defer { certificates.remove() }
        try await server.start()
        do {
            let endpoint = try BackendEndpoint(kind: .redis, url: server.url)
            #expect(endpoint.host == "localhost" && endpoint.tls?.certificateAuthorityFile == certificates.authorityFile)
            let client = RedisClient(configuration: try RedisConfiguration(endpoint: endpoint), logger: TestRedis.logger)
            try await client.command(["SET", "tls:key", "over TLS"])
            #expect(try await client.command(["GET", "tls:key"]).string == "over TLS")
            await client.shutdown()

            // By IP address: the certificate's IP entry is checked against the peer.
            var byAddress = try RedisConfiguration(endpoint: endpoint)
            byAddress.host = "127.0.0.1"
            let second = RedisClient(configuration: byAddress, logger: TestRedis.logger)
            #expect(try await second.command(["GET", "tls:key"]).string == "over TLS")
            await second.shutdown()

            // The broker's subscriber connection is TLS too.
            let broker = RedisMessageBroker(configuration: try RedisConfiguration(endpoint: endpoint), logger: TestRedis.logger)
            let room = uniqueRoom()
            let inbox = Inbox()
            let subscription = try await broker.subscribe(to: room) { inbox.add($0) }
            _ = try await broker.publish(MessageDraft(room: room, user: UserName(trusted: "tester"), text: "through TLS", timestamp: 1))
            try await inbox.wait(for: 1)
            #expect(inbox.messages.map(\.text) == ["through TLS"])
            await subscription.cancel()
            await broker.shutdown()
        } catch {
            await server.remove()
            throw error
        }
        await server.remove()
    }

    @Test func aServerWhoseCertificateIsNotTrustedOrPlainTCPIsRefused() async throws {
        let certificates = try await TestCertificates.make()
        let server = OwnServer(.redis, certificates: certificates)
        defer { certificates.remove() }
        try await server.start()
        // Trusting another CA (the unrelated self-signed certificate): the handshake fails.
        var untrusted = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: "rediss://localhost:\(server.port)?ca=\(certificates.otherCertificateFile)"))
        untrusted.connectTimeout = .seconds(1)
        let refused = RedisClient(configuration: untrusted, logger: TestRedis.logger)
        await #expect { try await refused.command(["PING"]) } throws: { "\($0)".contains("CERTIFICATE_VERIFY_FAILED") }
        await refused.shutdown()
        // Plain TCP to the TLS port gets no answer it can read.
        var plain = RedisConfiguration(host: "127.0.0.1", port: server.port)
        plain.connectTimeout = .seconds(1)
        plain.commandTimeout = .seconds(2)
        let clear = RedisClient(configuration: plain, logger: TestRedis.logger)
        await #expect(throws: (any Error).self) { try await clear.command(["PING"]) }
        await clear.shutdown()
        await server.remove()
    }

    @Test func theCertificateMustNameTheHostUnlessVerifyHostnameIsTurnedOff() async throws {
        let certificates = try await TestCertificates.make(serverNames: "DNS:elsewhere.example")
        let server = OwnServer(.redis, certificates: certificates)
        defer { certificates.remove() }
        try await server.start()
        let base = "rediss://localhost:\(server.port)?ca=\(certificates.authorityFile)"
        var misnamed = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: base))
        misnamed.connectTimeout = .seconds(1)
        let refused = RedisClient(configuration: misnamed, logger: TestRedis.logger)
        await #expect { try await refused.command(["PING"]) } throws: { "\($0)".contains("Couldn't find localhost in certificate") }
        await refused.shutdown()
        // Explicitly turned off: the chain is still checked against the CA, the name is not.
        let relaxed = RedisClient(
            configuration: try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: base + "&verify_hostname=false")),
            logger: TestRedis.logger
        )
        #expect(try await relaxed.command(["PING"]).string == "PONG")
        await relaxed.shutdown()
        await server.remove()
    }
}
