import Synchronization

/// ``ClusterControl`` for one process: the node list is this server's own heartbeat and a
/// broadcast is a local call.
public final class InMemoryClusterControl: ClusterControl {
    private struct State {
        var nodes: [String: (status: NodeStatus, expires: ContinuousClock.Instant)] = [:]
        var listeners: [UInt64: @Sendable (ControlCommand) -> Void] = [:]
        var nextListener: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func beat(_ status: NodeStatus, ttl: Duration) async throws {
        state.withLock { $0.nodes[status.id] = (status, .now + ttl) }
    }

    public func nodes() async throws -> [NodeStatus] {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.nodes = state.nodes.filter { $0.value.expires > now }
            return state.nodes.values.map(\.status).sorted { $0.id < $1.id }
        }
    }

    public func withdraw(_ server: ServerID) async throws {
        _ = state.withLock { $0.nodes.removeValue(forKey: server.rawValue) }
    }

    public func broadcast(_ command: ControlCommand) async throws {
        let listeners = state.withLock { $0.listeners.sorted { $0.key < $1.key }.map(\.value) }
        for deliver in listeners { deliver(command) }
    }

    public func listen(_ deliver: @escaping @Sendable (ControlCommand) -> Void) async throws -> any BrokerSubscription {
        let id = state.withLock { state in
            state.nextListener += 1
            state.listeners[state.nextListener] = deliver
            return state.nextListener
        }
        return Listener { [weak self] in _ = self?.state.withLock { $0.listeners.removeValue(forKey: id) } }
    }

    private struct Listener: BrokerSubscription {
        let stop: @Sendable () -> Void
        func cancel() async { stop() }
    }
}
