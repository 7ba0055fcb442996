import Synchronization

/// Users in process memory: the embedded default.
public final class InMemoryUserStore: UserStore {
    private let names = Mutex<Set<UserName>>([])

    public init() {}

    public func create(_ name: UserName) async throws {
        let inserted = names.withLock { $0.insert(name).inserted }
        if !inserted { throw ChatError.userNameTaken(name) }
    }

    public func contains(_ name: UserName) async throws -> Bool {
        names.withLock { $0.contains(name) }
    }

    public func deleteAll() async throws {
        names.withLock { $0.removeAll() }
    }
}
