import ChatCore
import Foundation

/// Token and password hashes in MariaDB's `user_tokens` and `user_passwords` tables
/// (migration 0002), shared by every chatd of a deployment. Rows reference `users` and are
/// deleted with them (`ON DELETE CASCADE`).
public struct MariaDBCredentialStore: CredentialStore {
    private let pool: MariaDBConnectionPool

    public init(pool: MariaDBConnectionPool) {
        self.pool = pool
    }

    public func addToken(_ hash: TokenHash, for user: UserName) async throws {
        let inserted = try await pool.execute(
            "INSERT INTO user_tokens (token_hash, `user`, created_at) SELECT ?, id, ? FROM users WHERE name = ?",
            [.string(hash.hex), .date(Date()), .string(user.rawValue)]
        )
        if inserted.affectedRows == 0 { throw ChatError.unknownUser(user) }
    }

    public func user(holding hash: TokenHash) async throws -> UserName? {
        let rows = try await pool.query(
            "SELECT users.name FROM user_tokens JOIN users ON users.id = user_tokens.`user` WHERE user_tokens.token_hash = ?",
            [.string(hash.hex)]
        )
        return rows.first?.first?.string.map(UserName.init(trusted:))
    }

    @discardableResult
    public func removeToken(_ hash: TokenHash) async throws -> Bool {
        try await pool.execute("DELETE FROM user_tokens WHERE token_hash = ?", [.string(hash.hex)]).affectedRows > 0
    }

    public func setPasswordHash(_ hash: String, for user: UserName) async throws {
        let written = try await pool.execute(
            """
            INSERT INTO user_passwords (`user`, password_hash) SELECT id, ? FROM users WHERE name = ?
            ON DUPLICATE KEY UPDATE password_hash = VALUES(password_hash)
            """,
            [.string(hash), .string(user.rawValue)]
        )
        if written.affectedRows == 0 { throw ChatError.unknownUser(user) }
    }

    public func passwordHash(of user: UserName) async throws -> String? {
        let rows = try await pool.query(
            "SELECT user_passwords.password_hash FROM user_passwords JOIN users ON users.id = user_passwords.`user` WHERE users.name = ?",
            [.string(user.rawValue)]
        )
        return rows.first?.first?.string
    }

    /// The cascade from `users` normally clears these; this clears credentials left on their own.
    public func deleteAll() async throws {
        try await pool.execute("DELETE FROM user_tokens")
        try await pool.execute("DELETE FROM user_passwords")
    }
}
