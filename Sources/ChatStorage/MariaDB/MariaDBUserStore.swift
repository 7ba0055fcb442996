import ChatCore

/// Users in MariaDB's `users` table, shared by every chatd of a deployment.
///
/// Uniqueness is the database's job (the `users_name` unique key, exact `utf8mb4_bin`
/// comparison): two servers creating one name at once cannot both win, which no
/// check-then-insert in this process could guarantee.
public struct MariaDBUserStore: UserStore {
    private let pool: MariaDBConnectionPool

    public init(pool: MariaDBConnectionPool) {
        self.pool = pool
    }

    public func create(_ name: UserName) async throws {
        do {
            try await pool.execute("INSERT INTO users (name) VALUES (?)", [.string(name.rawValue)])
        } catch let error as MariaDBError where error.isDuplicateKey {
            throw ChatError.userNameTaken(name)
        }
    }

    public func contains(_ name: UserName) async throws -> Bool {
        try await !pool.query("SELECT 1 FROM users WHERE name = ? LIMIT 1", [.string(name.rawValue)]).isEmpty
    }

    /// `DELETE`, not `TRUNCATE`: memberships reference users, and the cascade clears them.
    public func deleteAll() async throws {
        try await pool.execute("DELETE FROM users")
    }
}
