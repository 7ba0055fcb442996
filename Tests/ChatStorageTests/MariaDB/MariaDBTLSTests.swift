import ChatStorage
import ChatTestServices
import Testing

/// `?ssl=true&ca=FILE` against a MariaDB of the test's own that presents a certificate from a
/// CA made for the test and refuses TCP clients without TLS (require_secure_transport).
@Suite(.serialized) struct MariaDBTLSTests {
    @Test func aConnectionWithSSLAndTheCAIsEncryptedAndOthersAreRefused() async throws {
        let certificates = try await TestCertificates.make()
        let server = OwnServer(.mariadb, certificates: certificates)
        defer { certificates.remove() }
        try await server.start()
        do {
            let configuration = try MariaDBConfiguration(url: server.url)
            #expect(configuration.tls?.certificateAuthorityFile == certificates.authorityFile)
            let connection = try MariaDBConnection.connect(configuration)
            let cipher = try connection.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            #expect(cipher.first?.last?.string?.isEmpty == false, "the session is encrypted: \(cipher)")
            connection.close()

            // Without TLS the server refuses the session (require_secure_transport).
            var plain = configuration
            plain.tls = nil
            #expect(throws: MariaDBError.self) { try MariaDBConnection.connect(plain) }

            // TLS with a CA that did not sign the server's certificate: refused by the client.
            var untrusted = configuration
            untrusted.tls = BackendTLS(certificateAuthorityFile: certificates.otherCertificateFile)
            #expect { try MariaDBConnection.connect(untrusted) } throws: { error in
                !"\(error)".contains("chat:chat") && "\(error)".contains("connecting")
            }
        } catch {
            await server.remove()
            throw error
        }
        await server.remove()
    }
}
