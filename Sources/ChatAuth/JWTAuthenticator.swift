import ChatCore
import Foundation
import JWTKit

/// `--auth jwt`: tokens issued by the operator's own identity provider, verified here with
/// jwt-kit. `sub` is the user name (the user exists implicitly), `exp` and `nbf` are honoured,
/// `iss` and `aud` are checked when configured, and an optional `rooms` claim (an array of room
/// ids) limits which rooms the token may join. chatd issues and revokes nothing in this mode.
public struct JWTAuthenticator: Authenticator {
    /// How tokens are verified.
    public struct Settings: Sendable {
        /// The HS256 shared secret.
        public var secret: String?
        /// A PEM public key: RSA (RS256) or P-256 (ES256).
        public var publicKeyPEM: String?
        /// The `iss` every token must carry, when set.
        public var issuer: String?
        /// A value the token's `aud` must include, when set.
        public var audience: String?

        public init(secret: String? = nil, publicKeyPEM: String? = nil, issuer: String? = nil, audience: String? = nil) {
            self.secret = secret
            self.publicKeyPEM = publicKeyPEM
            self.issuer = issuer
            self.audience = audience
        }
    }

    /// The settings do not give a usable key.
    public struct InvalidKey: Error, CustomStringConvertible {
        public let description: String
    }

    /// The claims chatd reads.
    struct Claims: JWTPayload {
        let sub: SubjectClaim
        let exp: ExpirationClaim?
        let nbf: NotBeforeClaim?
        let iss: IssuerClaim?
        let aud: AudienceClaim?
        let rooms: [Int64]?

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp?.verifyNotExpired()
            try nbf?.verifyNotBefore()
        }
    }

    private let keys: JWTKeyCollection
    private let settings: Settings

    private init(keys: JWTKeyCollection, settings: Settings) {
        self.keys = keys
        self.settings = settings
    }

    /// Loads the keys of `settings`; throws ``InvalidKey`` when there is none or a PEM does not parse.
    public static func make(_ settings: Settings) async throws -> JWTAuthenticator {
        let keys = JWTKeyCollection()
        if let secret = settings.secret {
            guard secret.utf8.count >= 32 else { throw InvalidKey(description: "--jwt-secret must be at least 32 bytes") }
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: "hs256")
        }
        if let pem = settings.publicKeyPEM {
            if let key = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: key, kid: "es256")
            } else if let key = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: key, digestAlgorithm: .sha256, kid: "rs256")
            } else {
                throw InvalidKey(description: "the JWT public key is neither an RSA nor a P-256 public key in PEM form")
            }
        }
        guard settings.secret != nil || settings.publicKeyPEM != nil else {
            throw InvalidKey(description: "--auth jwt needs --jwt-secret or --jwt-public-key")
        }
        return JWTAuthenticator(keys: keys, settings: settings)
    }

    public func identify(_ credential: String) async throws(ChatError) -> Identity? {
        guard credential.utf8.count <= 8 * 1024 else { return nil }
        let claims: Claims
        do {
            claims = try await keys.verify(credential, as: Claims.self, iteratingKeys: true)
        } catch {
            return nil
        }
        if let issuer = settings.issuer, claims.iss?.value != issuer { return nil }
        if let audience = settings.audience {
            guard let aud = claims.aud, (try? aud.verifyIntendedAudience(includes: audience)) != nil else { return nil }
        }
        guard let user = UserName(rawValue: claims.sub.value) else { return nil }
        return Identity(
            user: user,
            expiresAt: claims.exp.map { Int64(($0.value.timeIntervalSince1970 * 1000).rounded(.down)) },
            rooms: claims.rooms.map { Set($0.map { RoomID(rawValue: $0) }) }
        )
    }

    public func registered(_ user: UserName, password: String?) async throws(ChatError) -> String? { nil }

    public func logIn(_ user: UserName, password: String) async throws(ChatError) -> String? { nil }

    public func revoke(_ credential: String) async throws(ChatError) -> Bool { false }
}
