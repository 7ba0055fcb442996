import Foundation

/// A certificate authority and a server certificate it signs (for `localhost` and
/// `127.0.0.1`), made for one test by scripts/services/certificates.sh with Debian's openssl,
/// plus a second, unrelated certificate whose key matches neither.
public struct TestCertificates: Sendable {
    public let directory: URL

    public var authorityFile: String { directory.appendingPathComponent("ca.pem").path }
    public var certificateFile: String { directory.appendingPathComponent("server.pem").path }
    public var keyFile: String { directory.appendingPathComponent("server.key").path }
    /// A self-signed certificate and its key, for mismatch tests.
    public var otherCertificateFile: String { directory.appendingPathComponent("other.pem").path }
    public var otherKeyFile: String { directory.appendingPathComponent("other.key").path }

    /// Makes a fresh set in a temporary directory of its own; `serverNames` replaces the
    /// server certificate's subject alternative names (openssl syntax: `DNS:x,IP:y`).
    public static func make(serverNames: String? = nil) async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-tls-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try await ServiceScript.run(
            "certificates.sh", [directory.path], environment: serverNames.map { ["SERVER_NAMES": $0] } ?? [:],
            log: directory.appendingPathComponent("certificates.log")
        )
        return TestCertificates(directory: directory)
    }

    /// Removes the directory (keys included).
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
