import Synchronization

/// Credentials in process memory: the embedded default.
public final class InMemoryCredentialStore: CredentialStore {
    private struct State {
        var tokens: [TokenHash: UserName] = [:]
        var passwords: [UserName: String] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func addToken(_ hash: TokenHash, for user: UserName) async throws {
        state.withLock { $0.tokens[hash] = user }
    }

    public func user(holding hash: TokenHash) async throws -> UserName? {
        state.withLock { $0.tokens[hash] }
    }

    @discardableResult
    public func removeToken(_ hash: TokenHash) async throws -> Bool {
        state.withLock { $0.tokens.removeValue(forKey: hash) != nil }
    }

    public func setPasswordHash(_ hash: String, for user: UserName) async throws {
        state.withLock { $0.passwords[user] = hash }
    }

    public func passwordHash(of user: UserName) async throws -> String? {
        state.withLock { $0.passwords[user] }
    }

    public func deleteAll() async throws {
        state.withLock { $0 = State() }
    }
}
