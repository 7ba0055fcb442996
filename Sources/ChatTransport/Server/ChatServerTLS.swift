import Foundation
import NIOSSL

/// TLS on the listener: the server's certificate chain and private key. With it the server
/// speaks only https and wss; a plain-HTTP request fails the handshake and is closed.
public struct ChatServerTLS: Sendable {
    /// Why the certificate or key cannot be used, in words fit for the operator.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// What NIOSSL serves; built once, checked by building a context from it.
    public let configuration: TLSConfiguration

    /// Full control, e.g. for client certificates or other versions. Throws if NIOSSL cannot
    /// build a context from it.
    public init(configuration: TLSConfiguration) throws(Invalid) {
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw Invalid(description: "the TLS configuration cannot be used: \(error)")
        }
        self.configuration = configuration
    }

    /// A certificate chain (the server's first, then intermediates) and its private key; a key
    /// that does not belong to the certificate is refused here, not at the first handshake.
    public init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey) throws(Invalid) {
        guard !certificateChain.isEmpty else { throw Invalid(description: "the certificate chain is empty") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        configuration.minimumTLSVersion = .tlsv12
        do {
            // BoringSSL checks that the key belongs to the certificate when the context is built.
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw Invalid(description: "the private key does not belong to the certificate, or cannot be used with it: \(error)")
        }
        self.configuration = configuration
    }

    /// `--tls-cert FILE --tls-key FILE`: PEM files, the chain's first certificate the server's.
    public init(certificateFile: String, keyFile: String) throws(Invalid) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(Self.read(certificateFile, what: "certificate")))
        } catch let error as Invalid {
            throw error
        } catch {
            throw Invalid(description: "the TLS certificate file '\(certificateFile)' is not a PEM certificate: \(error)")
        }
        guard !chain.isEmpty else {
            throw Invalid(description: "the TLS certificate file '\(certificateFile)' holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: Array(Self.read(keyFile, what: "key")), format: .pem)
        } catch let error as Invalid {
            throw error
        } catch {
            throw Invalid(description: "the TLS key file '\(keyFile)' is not a PEM private key (or it is encrypted): \(error)")
        }
        do {
            try self.init(certificateChain: chain, privateKey: key)
        } catch {
            throw Invalid(description: "the TLS certificate '\(certificateFile)' and key '\(keyFile)': \(error.description)")
        }
    }

    private static func read(_ path: String, what: String) throws(Invalid) -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Invalid(description: "cannot read the TLS \(what) file '\(path)': \((error as NSError).localizedDescription)")
        }
    }
}
