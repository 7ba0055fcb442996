/// Where users' credentials are kept (MariaDB `user_tokens` and `user_passwords` in production):
/// only hashes, never a token or password itself, so a leaked store lets no one in.
///
/// A credential belongs to an existing user; deleting the users deletes their credentials.
public protocol CredentialStore: Sendable {
    /// Records a token of `user` by its hash.
    func addToken(_ hash: TokenHash, for user: UserName) async throws
    /// The user holding the token with this hash, or nil when there is none (never issued or revoked).
    func user(holding hash: TokenHash) async throws -> UserName?
    /// Forgets a token; true when it existed.
    @discardableResult
    func removeToken(_ hash: TokenHash) async throws -> Bool
    /// Keeps `hash` (a bcrypt string) as the password of `user`, replacing any earlier one.
    func setPasswordHash(_ hash: String, for user: UserName) async throws
    /// The password hash of `user`, or nil when the user has no password.
    func passwordHash(of user: UserName) async throws -> String?
    /// Forgets every credential (with `DELETE /v1/users`).
    func deleteAll() async throws
}

/// The hash of an access token (SHA-256, lower-case hex): what the stores keep and look up by.
/// Computed by the authentication target; ChatCore only carries it.
public struct TokenHash: Hashable, Sendable, CustomStringConvertible {
    public let hex: String

    public init(hex: String) {
        self.hex = hex
    }

    /// Only a prefix: enough to tell hashes apart in a log, too little to matter if it leaks.
    public var description: String { "token-hash:\(hex.prefix(8))…" }
}
