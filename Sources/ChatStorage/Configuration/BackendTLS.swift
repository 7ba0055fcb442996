import NIOSSL

/// TLS to one backend: whom to trust and whether the certificate must name the host.
///
/// Set by the URL (`rediss://`, `https://`, MariaDB's `?ssl=true`) and refined by
/// `?ca=FILE` / `--redis-ca` / `--elasticsearch-ca` and `?verify_hostname=false`.
public struct BackendTLS: Hashable, Sendable {
    /// PEM file with the certificate authorities that sign the server's certificate; nil: the
    /// system's trust store.
    public var certificateAuthorityFile: String?
    /// Whether the server's certificate must name the host of the URL (or its IP address).
    /// Turned off only by an explicit `verify_hostname=false`: the chain is still verified.
    public var verifiesHostname: Bool

    public init(certificateAuthorityFile: String? = nil, verifiesHostname: Bool = true) {
        self.certificateAuthorityFile = certificateAuthorityFile
        self.verifiesHostname = verifiesHostname
    }

    /// A failure to use the TLS settings (an unreadable or malformed CA file), fit for the operator.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// The client configuration for NIOSSL and AsyncHTTPClient; reads the CA file, so an
    /// unreadable or malformed one is an error now rather than at the first connection.
    public func clientConfiguration() throws(Invalid) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let certificateAuthorityFile {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(certificateAuthorityFile)
            } catch {
                throw Invalid(description: "cannot read the CA certificate file '\(certificateAuthorityFile)': \(error)")
            }
            guard !certificates.isEmpty else {
                throw Invalid(description: "the CA certificate file '\(certificateAuthorityFile)' holds no PEM certificate")
            }
            configuration.trustRoots = .certificates(certificates)
        }
        configuration.certificateVerification = verifiesHostname ? .fullVerification : .noHostnameVerification
        return configuration
    }

    /// The name to send as SNI and check the certificate against: nil for an IP address (SNI
    /// forbids it; NIOSSL then checks the certificate's IP entries against the peer's address).
    static func serverName(for host: String) -> String? {
        if host.contains(":") { return nil }  // IPv6
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        let isIPv4 = parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
        return isIPv4 ? nil : host
    }
}
