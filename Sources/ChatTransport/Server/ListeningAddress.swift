import Synchronization

/// The port a server ended up listening on, for callers that asked for port 0.
final class ListeningAddress: Sendable {
    private struct State {
        var port: Int?
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Int, Never>] = [:]
    }
    private let state = Mutex(State())

    func bound(port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    /// Suspends until the server listens, then returns its port; 0 when the waiting task is
    /// cancelled first. A server that never binds (its port taken) must not hold its waiters,
    /// the admin listener's heartbeat among them, through chatd's shutdown.
    func port() async -> Int {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Int? in
                    if let port = state.port { return port }
                    // Cancelled before this registration: the handler below found nothing to resume.
                    if Task.isCancelled { return 0 }
                    state.waiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: 0)
        }
    }
}
