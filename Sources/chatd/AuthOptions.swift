import ArgumentParser
import ChatAuth
import ChatCore
import ChatTransport
import Foundation
import Logging

/// Authentication settings of `chatd serve` (docs/security.md, "Authentication"); every
/// default is ``AccessSettings``'.
struct AuthOptions: ParsableArguments {
    @Option(help: "token (chatd issues tokens; the default), jwt (your identity provider's) or none (the seed's open API) (env CHATD_AUTH).")
    var auth: String?

    @Option(help: "The bearer token admin routes (DELETE /v1/users, the admin listener's /v1/admin/) need (env CHATD_ADMIN_TOKEN); unset: admin routes are refused.")
    var adminToken: String?

    @Flag(help: "Listing rooms, a room's users and searching need a token too.")
    var privateRooms = false

    @Option(help: "HS256 secret for --auth jwt, at least 32 bytes (env CHATD_JWT_SECRET).")
    var jwtSecret: String?

    @Option(help: "PEM file with the RS256 or ES256 public key for --auth jwt.")
    var jwtPublicKey: String?

    @Option(help: "With --auth jwt: the iss every token must carry.")
    var jwtIssuer: String?

    @Option(help: "With --auth jwt: a value every token's aud must include.")
    var jwtAudience: String?

    @Option(help: "Failed credential checks per minute one client address may make before 429; 0: unlimited (default 20).")
    var authFailureLimit: Int?

    @Option(help: "Rooms one user may create per minute before 429; 0: unlimited (default 10).")
    var roomQuota: Int?

    @Option(help: "bcrypt cost of password hashes, 4 to 31 (default 12).")
    var bcryptCost: Int?

    /// Checks the flags and applies them to `configuration`; nothing is contacted yet.
    func apply(to configuration: inout ChatServerConfiguration, environment: [String: String]) throws {
        let modeText = auth ?? environment["CHATD_AUTH"] ?? configuration.access.mode.rawValue
        guard let mode = AccessSettings.Mode(rawValue: modeText) else {
            throw ValidationError("--auth must be token, jwt or none, got '\(modeText)'")
        }
        configuration.access.mode = mode
        configuration.access.adminToken = adminToken ?? environment["CHATD_ADMIN_TOKEN"]
        if let admin = configuration.access.adminToken, admin.utf8.count < 16 {
            throw ValidationError("--admin-token must be at least 16 bytes")
        }
        configuration.access.privateRooms = privateRooms
        if let authFailureLimit {
            guard authFailureLimit >= 0 else { throw ValidationError("--auth-failure-limit must not be negative") }
            configuration.access.maximumFailedAttemptsPerMinute = authFailureLimit == 0 ? nil : authFailureLimit
        }
        if let roomQuota {
            guard roomQuota >= 0 else { throw ValidationError("--room-quota must not be negative") }
            configuration.access.maximumRoomsPerUserPerMinute = roomQuota == 0 ? nil : roomQuota
        }
        if let bcryptCost, !(4...31).contains(bcryptCost) { throw ValidationError("--bcrypt-cost must be 4 to 31") }
        let jwtFlags = [jwtSecret ?? environment["CHATD_JWT_SECRET"], jwtPublicKey, jwtIssuer, jwtAudience].compactMap { $0 }
        if mode != .jwt, !jwtFlags.isEmpty { throw ValidationError("the --jwt-… settings need --auth jwt") }
        if mode == .jwt, jwtSecret ?? environment["CHATD_JWT_SECRET"] == nil, jwtPublicKey == nil {
            throw ValidationError("--auth jwt needs --jwt-secret or --jwt-public-key")
        }
    }

    /// Makes the authenticator of the chosen mode from the credential store, once the backends
    /// exist (nil in `--auth none`). Loads and checks JWT keys now, before any backend is contacted.
    func authenticatorFactory(
        mode: AccessSettings.Mode, environment: [String: String], logger: Logger
    ) async throws -> @Sendable (any CredentialStore) -> (any Authenticator)? {
        switch mode {
        case .open:
            return { _ in nil }
        case .token:
            let cost = UInt8(bcryptCost ?? 12)
            return { credentials in TokenAuthenticator(credentials: credentials, bcryptCost: cost, logger: logger) }
        case .jwt:
            var pem: String?
            if let jwtPublicKey {
                do {
                    pem = try String(contentsOfFile: jwtPublicKey, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot read --jwt-public-key \(jwtPublicKey): \(error.localizedDescription)")
                }
            }
            let settings = JWTAuthenticator.Settings(
                secret: jwtSecret ?? environment["CHATD_JWT_SECRET"], publicKeyPEM: pem, issuer: jwtIssuer, audience: jwtAudience
            )
            do {
                let authenticator = try await JWTAuthenticator.make(settings)
                return { _ in authenticator }
            } catch let error as JWTAuthenticator.InvalidKey {
                throw ValidationError(error.description)
            }
        }
    }

    /// `--auth none` on an address others can reach deserves a loud line in the log.
    static func warnIfOpen(_ configuration: ChatServerConfiguration, logger: Logger) {
        guard configuration.access.mode == .open else { return }
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(configuration.host) || configuration.host.hasPrefix("127.")
        if !loopback {
            logger.warning(
                "--auth none on \(configuration.host): anyone who can reach this port can speak as any user and delete every user"
            )
        }
    }
}
