import ChatCore
import Crypto
import Foundation

/// The access tokens of `--auth token`: 256 random bits, written as 43 base64url characters,
/// known to the client only; the stores keep their SHA-256.
public enum AccessToken {
    /// A fresh token from the system's cryptographic random generator.
    public static func generate() -> String {
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        return bytes.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// What the stores keep of `token`, and look it up by.
    public static func hash(_ token: String) -> TokenHash {
        TokenHash(hex: SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined())
    }
}
