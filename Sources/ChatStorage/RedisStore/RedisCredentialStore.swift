import ChatCore

/// Token and password hashes in Redis, shared by every chatd on it: the credential store of
/// `--redis` without `--mariadb`. Two hashes: token hash → user name, user name → bcrypt hash.
///
/// A credential is written only for an existing user, checked in the same script that writes
/// it (``ChatError/unknownUser(_:)`` otherwise, as MariaDB's foreign key answers), and
/// ``RedisUserStore/deleteAll()`` removes both hashes with the users, so none outlives its user.
public struct RedisCredentialStore: CredentialStore {
    private let client: any RedisCommandRunning

    /// Sets a field of a hash when the user exists.
    /// KEYS: the user set, the hash. ARGV: user name, field, value. Returns 0 for no such user.
    static let setForUserScript = RedisScript(
        """
        if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
        return 1
        """
    )

    public init(client: any RedisCommandRunning) {
        self.client = client
    }

    public func addToken(_ hash: TokenHash, for user: UserName) async throws {
        try await set(RedisKeys.storeTokens, field: hash.hex, to: user.rawValue, for: user)
    }

    public func user(holding hash: TokenHash) async throws -> UserName? {
        try await RedisStoreFailure.mapping {
            try await client.command(["HGET", RedisKeys.storeTokens, hash.hex]).string.map(UserName.init(trusted:))
        }
    }

    @discardableResult
    public func removeToken(_ hash: TokenHash) async throws -> Bool {
        try await RedisStoreFailure.mapping { try await client.command(["HDEL", RedisKeys.storeTokens, hash.hex]).int == 1 }
    }

    public func setPasswordHash(_ hash: String, for user: UserName) async throws {
        try await set(RedisKeys.storePasswords, field: user.rawValue, to: hash, for: user)
    }

    public func passwordHash(of user: UserName) async throws -> String? {
        try await RedisStoreFailure.mapping { try await client.command(["HGET", RedisKeys.storePasswords, user.rawValue]).string }
    }

    /// Forgets every token and password; the users stay.
    public func deleteAll() async throws {
        try await RedisStoreFailure.mapping { try await client.command(["DEL", RedisKeys.storeTokens, RedisKeys.storePasswords]) }
    }

    private func set(_ key: String, field: String, to value: String, for user: UserName) async throws {
        let written = try await RedisStoreFailure.mapping {
            try await Self.setForUserScript.run(on: client, keys: [RedisKeys.storeUsers, key], arguments: [user.rawValue, field, value])
        }
        if written.int != 1 { throw ChatError.unknownUser(user) }
    }
}
