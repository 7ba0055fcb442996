import Synchronization

/// Users in process memory: the embedded default.
public final class InMemoryUserStore: UserStore {
    private let names = Mutex<Set<UserName>>([])
    /// Users it holds at most; creating more fails with ``ChatError/storageFull(_:)``.
    public let capacity: Int

    public init(capacity: Int = InMemoryCapacity().users) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public func create(_ name: UserName) async throws {
        let capacity = capacity
        let outcome = names.withLock { names -> Bool? in
            if names.contains(name) { return false }
            guard names.count < capacity else { return nil }
            return names.insert(name).inserted
        }
        switch outcome {
        case true?: return
        case false?: throw ChatError.userNameTaken(name)
        case nil: throw ChatError.storageFull("this server holds at most \(capacity) users")
        }
    }

    public func contains(_ name: UserName) async throws -> Bool {
        names.withLock { $0.contains(name) }
    }

    public func deleteAll() async throws {
        names.withLock { $0.removeAll() }
    }
}
