/// Where users are kept (MariaDB `users` in production).
public protocol UserStore: Sendable {
    /// Creates a user. Throws ``ChatError/userNameTaken(_:)`` when the name exists.
    func create(_ name: UserName) async throws
    func contains(_ name: UserName) async throws -> Bool
    /// Removes every user (the seed's `DELETE /v1/users`).
    func deleteAll() async throws
}
