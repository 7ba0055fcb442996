import ChatStorage
import ChatTestServices
import Testing

/// Elasticsearch over https with a private CA (`--elasticsearch-ca`), against the stand-in
/// served over TLS with a certificate from a CA made for the test.
@Suite struct ElasticsearchTLSTests {
    @Test func httpsWithThePrivateCAWorksAndWithoutItIsRefused() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let fake = try await FakeElasticsearch.start(certificates: certificates)
        var endpoint = try BackendEndpoint(kind: .elasticsearch, url: fake.url)
        #expect(endpoint.tls == BackendTLS(), "https:// is TLS with the system's trust store")

        // Each client is shut down whatever happens: one left to its deinit stops the whole test
        // process (AsyncHTTPClient's debug check), hiding what went wrong. The handshakes get
        // 15 s: CI's first seconds start every suite's servers at once, and the default 2 s ran out.
        func with(_ endpoint: BackendEndpoint, _ body: (ElasticsearchClient) async throws -> Void) async throws {
            let client = ElasticsearchClient(endpoint: endpoint, requestTimeout: .seconds(30), connectTimeout: .seconds(15))
            do {
                try await body(client)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
        do {
            try await with(endpoint) { untrusted in
                await #expect { try await ElasticsearchIndexTemplate.install(on: untrusted) } throws: { error in
                    "\(error)".contains("CERTIFICATE_VERIFY_FAILED") || "\(error)".contains("certificate")
                }
            }
            endpoint.tls?.certificateAuthorityFile = certificates.authorityFile
            try await with(endpoint) { trusted in
                try await ElasticsearchIndexTemplate.install(on: trusted)
                try await ElasticsearchIndexTemplate.verify(on: trusted)
            }
            // An unreadable CA file fails every request with a message that names it.
            endpoint.tls?.certificateAuthorityFile = "/nonexistent/es-ca.pem"
            try await with(endpoint) { broken in
                await #expect { try await ElasticsearchIndexTemplate.verify(on: broken) } throws: { "\($0)".contains("/nonexistent/es-ca.pem") }
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }
}
