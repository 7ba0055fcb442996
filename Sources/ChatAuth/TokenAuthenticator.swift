import ChatCore
import HummingbirdBcrypt
import Logging

/// `--auth token`: chatd issues the tokens itself. A user gets one at creation, another for
/// each password login; each is looked up by its hash in the ``CredentialStore``.
///
/// A token is found by the SHA-256 of what the client sent, so no stored secret is ever
/// compared byte by byte with client input: an attacker timing lookups learns about hashes
/// of their guesses, which tells them nothing about a real token.
public struct TokenAuthenticator: Authenticator {
    private let credentials: any CredentialStore
    private let bcryptCost: UInt8
    private let logger: Logger

    /// `bcryptCost`: log2 of bcrypt's rounds (12 by default, about a quarter second a check).
    public init(credentials: any CredentialStore, bcryptCost: UInt8 = 12, logger: Logger = Logger(label: "chat.auth")) {
        self.credentials = credentials
        self.bcryptCost = bcryptCost
        self.logger = logger
    }

    public func identify(_ credential: String) async throws(ChatError) -> Identity? {
        guard !credential.isEmpty, credential.utf8.count <= 256 else { return nil }
        let hash = AccessToken.hash(credential)
        return try await backend("look up token") { try await credentials.user(holding: hash) }.map { Identity(user: $0) }
    }

    public func registered(_ user: UserName, password: String?) async throws(ChatError) -> String? {
        if let password {
            try Password.validate(password)
            let hashed = await Self.offLoop { Bcrypt.hash(password, cost: bcryptCost) }
            try await backend("store password") { try await credentials.setPasswordHash(hashed, for: user) }
        }
        return try await issue(for: user)
    }

    public func logIn(_ user: UserName, password: String) async throws(ChatError) -> String? {
        guard Password.allowedBytes.contains(password.utf8.count) else { return nil }
        guard let stored = try await backend("look up password", { try await credentials.passwordHash(of: user) }) else {
            return nil
        }
        let matches = await Self.offLoop { Bcrypt.verify(password, hash: stored) }
        guard matches else { return nil }
        return try await issue(for: user)
    }

    public func revoke(_ credential: String) async throws(ChatError) -> Bool {
        let hash = AccessToken.hash(credential)
        return try await backend("revoke token") { try await credentials.removeToken(hash) }
    }

    private func issue(for user: UserName) async throws(ChatError) -> String {
        let token = AccessToken.generate()
        try await backend("store token") { try await credentials.addToken(AccessToken.hash(token), for: user) }
        return token
    }

    /// bcrypt is deliberately slow: run it off the caller's executor (an event loop, for the API).
    private static func offLoop<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await Task.detached(priority: .medium) { work() }.value
    }

    private func backend<T>(_ operation: String, _ body: () async throws -> T) async throws(ChatError) -> T {
        try await ChatError.fromBackend(operation, port: "credentials", logger: logger, message: "credential store failed", body)
    }
}
