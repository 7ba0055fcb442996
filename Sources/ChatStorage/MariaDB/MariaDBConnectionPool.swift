import ChatCore
import NIOPosix
import Synchronization

/// A bounded set of MariaDB sessions shared by every request of one process.
///
/// libmariadb blocks the calling thread, and a blocked event loop stalls every socket on it,
/// so each call runs on the pool's own `NIOThreadPool` (one thread per connection, so a
/// statement never queues behind another while a connection is free) and callers just
/// `await`. At most ``MariaDBConfiguration/maximumConnections`` sessions exist; further callers
/// wait in FIFO order. A session that lost its server is discarded together with the idle
/// ones (a restart kills them all), its caller gets ``ChatError/backendUnavailable(_:)``, and
/// the next caller connects afresh: that is how the pool recovers without a supervisor.
public final class MariaDBConnectionPool: Sendable {
    /// A snapshot for tests and metrics.
    public struct Statistics: Sendable, Hashable {
        /// Sessions that exist or are being opened.
        public var open: Int
        public var idle: Int
        public var leased: Int
        /// The most leases held at once since the pool started.
        public var peakLeased: Int
        public var waiting: Int
    }

    /// What a caller was granted: a session to reuse, or a free slot to open one in.
    private enum Lease: Sendable {
        case existing(MariaDBConnection, idleSince: ContinuousClock.Instant)
        case slot
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Lease, any Error>
    }

    private struct State {
        var idle: [(connection: MariaDBConnection, since: ContinuousClock.Instant)] = []
        var open = 0
        var leased = 0
        var peakLeased = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
        var lastFailure: MariaDBError?

        mutating func lease(_ lease: Lease) -> Lease {
            leased += 1
            peakLeased = max(peakLeased, leased)
            return lease
        }
    }

    /// The result of one blocking run, carried back to the async side.
    private struct Outcome<T: Sendable>: Sendable {
        var result: Result<T, any Error>
        /// The session to keep, or nil when it is gone (never opened, or broken and closed).
        var connection: MariaDBConnection?
        /// The server went away: idle sessions are presumed dead too.
        var serverLost: Bool
        /// Why the server was lost, kept for operators (clients only see "unavailable").
        var failure: MariaDBError?
    }

    public let configuration: MariaDBConfiguration
    private let threads: NIOThreadPool
    private let state = Mutex(State())

    public init(configuration: MariaDBConfiguration) {
        precondition(configuration.maximumConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        threads = NIOThreadPool(numberOfThreads: configuration.maximumConnections)
        threads.start()
    }

    /// A pool dropped without ``shutdown()`` still stops its threads (its idle sessions close
    /// when they are freed with it), so an embedder that forgets cannot leak a thread per
    /// connection.
    deinit {
        if !state.withLock({ $0.closed }) {
            threads.shutdownGracefully { _ in }
        }
    }

    public var statistics: Statistics {
        state.withLock {
            Statistics(open: $0.open, idle: $0.idle.count, leased: $0.leased, peakLeased: $0.peakLeased, waiting: $0.waiters.count)
        }
    }

    /// Why the last connection attempt or session failed: the detail behind a
    /// ``ChatError/backendUnavailable(_:)``, for start-up messages and logs (never for clients:
    /// it names the host).
    public var lastFailure: MariaDBError? {
        state.withLock { $0.lastFailure }
    }

    /// Runs `body` with a session of its own, on a pool thread. Connection failures surface
    /// as ``ChatError/backendUnavailable(_:)``; other server errors as ``MariaDBError``.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (MariaDBConnection) throws -> T
    ) async throws -> T {
        let lease = try await acquire()
        let outcome: Outcome<T>
        do {
            outcome = try await threads.runIfActive { [configuration] in
                Self.run(body, on: lease, configuration: configuration)
            }
        } catch {
            // Cancelled or shutting down before the body ran: the lease goes back untouched.
            switch lease {
            case .existing(let connection, _): release(connection, serverLost: false)
            case .slot: release(nil, serverLost: false)
            }
            throw error is CancellationError ? error : Self.closedError
        }
        release(outcome.connection, serverLost: outcome.serverLost, failure: outcome.failure)
        return try outcome.result.get()
    }

    /// Runs one statement that returns rows.
    public func query(_ sql: String, _ values: [MariaDBValue] = []) async throws -> [MariaDBRow] {
        try await withConnection { try $0.query(sql, values) }
    }

    /// Runs one statement that returns no rows.
    @discardableResult
    public func execute(_ sql: String, _ values: [MariaDBValue] = []) async throws -> MariaDBExecution {
        try await withConnection { try $0.execute(sql, values) }
    }

    /// Closes every session and stops the threads; later calls fail as backend unavailable.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.open -= state.idle.count
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle.map(\.connection), state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: Self.closedError) }
        try? await threads.runIfActive { idle.forEach { $0.close() } }
        try? await threads.shutdownGracefully()
    }

    private static var closedError: ChatError { .backendUnavailable("the MariaDB connection pool is shut down") }

    private func acquire() async throws -> Lease {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let granted: Result<Lease, any Error>? = state.withLock { state in
                    if state.closed { return .failure(Self.closedError) }
                    if let idle = state.idle.popLast() {
                        return .success(state.lease(.existing(idle.connection, idleSince: idle.since)))
                    }
                    if state.open < configuration.maximumConnections {
                        state.open += 1
                        return .success(state.lease(.slot))
                    }
                    // The cancellation handler takes the same lock, so either it already ran
                    // (and the flag is visible here) or it will find this waiter.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let granted { continuation.resume(with: granted) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Returns a lease: the session to the next waiter or the idle list, or its slot.
    private func release(_ connection: MariaDBConnection?, serverLost: Bool, failure: MariaDBError? = nil) {
        var handOffs: [(Waiter, Lease)] = []
        var toClose: [MariaDBConnection] = []
        state.withLock { state in
            state.leased -= 1
            if let failure { state.lastFailure = failure }
            if let connection, !state.closed {
                if state.waiters.isEmpty {
                    state.idle.append((connection, .now))
                } else {
                    handOffs.append((state.waiters.removeFirst(), state.lease(.existing(connection, idleSince: .now))))
                }
            } else {
                if let connection { toClose.append(connection) }
                state.open -= 1
            }
            if serverLost {
                toClose += state.idle.map(\.connection)
                state.open -= state.idle.count
                state.idle.removeAll()
            }
            while !state.waiters.isEmpty, state.open < configuration.maximumConnections {
                state.open += 1
                handOffs.append((state.waiters.removeFirst(), state.lease(.slot)))
            }
        }
        for (waiter, lease) in handOffs { waiter.continuation.resume(returning: lease) }
        if !toClose.isEmpty {
            // Closing sends COM_QUIT, a socket write: keep it off the caller's thread too.
            let closing = toClose
            threads.submit { _ in closing.forEach { $0.close() } }
        }
    }

    /// The blocking part: health-check or open a session, then run the body on it.
    private static func run<T: Sendable>(
        _ body: (MariaDBConnection) throws -> T, on lease: Lease, configuration: MariaDBConfiguration
    ) -> Outcome<T> {
        var serverLost = false
        var reusable: MariaDBConnection?
        if case .existing(let connection, let idleSince) = lease {
            if ContinuousClock.now - idleSince < configuration.healthCheckAfter || connection.ping() {
                reusable = connection
            } else {
                connection.close()
                serverLost = true
            }
        }
        let connection: MariaDBConnection
        if let reusable {
            connection = reusable
        } else {
            do {
                connection = try MariaDBConnection.connect(configuration)
            } catch {
                return Outcome(result: .failure(error.mapped()), connection: nil, serverLost: true, failure: error)
            }
        }
        let result: Result<T, any Error>
        var failure: MariaDBError?
        do {
            result = .success(try body(connection))
        } catch let error as MariaDBError {
            result = .failure(error.mapped())
            failure = error
        } catch {
            result = .failure(error)
        }
        if connection.isBroken {
            connection.close()
            return Outcome(result: result, connection: nil, serverLost: true, failure: failure)
        }
        return Outcome(result: result, connection: connection, serverLost: serverLost)
    }
}
