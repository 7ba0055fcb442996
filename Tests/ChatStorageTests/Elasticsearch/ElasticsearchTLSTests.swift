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

        let untrusted = ElasticsearchClient(endpoint: endpoint)
        await #expect { try await ElasticsearchIndexTemplate.install(on: untrusted) } throws: { error in
            "\(error)".contains("CERTIFICATE_VERIFY_FAILED") || "\(error)".contains("certificate")
        }
        await untrusted.shutdown()

        endpoint.tls?.certificateAuthorityFile = certificates.authorityFile
        let trusted = ElasticsearchClient(endpoint: endpoint)
        try await ElasticsearchIndexTemplate.install(on: trusted)
        try await ElasticsearchIndexTemplate.verify(on: trusted)
        await trusted.shutdown()

        // An unreadable CA file fails every request with a message that names it.
        endpoint.tls?.certificateAuthorityFile = "/nonexistent/es-ca.pem"
        let broken = ElasticsearchClient(endpoint: endpoint)
        await #expect { try await ElasticsearchIndexTemplate.verify(on: broken) } throws: { "\($0)".contains("/nonexistent/es-ca.pem") }
        await broken.shutdown()
        await fake.stop()
    }
}
