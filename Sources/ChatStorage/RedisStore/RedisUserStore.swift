import ChatCore

/// Users in Redis, shared by every chatd on it: the user store of `--redis` without
/// `--mariadb` (keys in ``RedisKeys/storeUsers`` and its neighbours, docs/operations.md, "Users
/// and rooms in Redis").
///
/// A name is a member of one set, so SADD is the check and the insert in one atomic step: two
/// servers creating one name at once cannot both win. Names are compared byte for byte
/// (UTF-8), as exactly as MariaDB's `utf8mb4_bin`.
public struct RedisUserStore: UserStore {
    private let client: any RedisCommandRunning

    public init(client: any RedisCommandRunning) {
        self.client = client
    }

    public func create(_ name: UserName) async throws {
        let added = try await RedisStoreFailure.mapping {
            try await client.command(["SADD", RedisKeys.storeUsers, name.rawValue])
        }
        if added.int == 0 { throw ChatError.userNameTaken(name) }
    }

    public func contains(_ name: UserName) async throws -> Bool {
        try await RedisStoreFailure.mapping {
            try await client.command(["SISMEMBER", RedisKeys.storeUsers, name.rawValue]).int == 1
        }
    }

    /// Removes every user together with their tokens and passwords, in one DEL (one slot, one
    /// atomic step), as MariaDB's cascade does: no credential outlives its user.
    public func deleteAll() async throws {
        try await RedisStoreFailure.mapping {
            try await client.command(["DEL", RedisKeys.storeUsers, RedisKeys.storeTokens, RedisKeys.storePasswords])
        }
    }
}
