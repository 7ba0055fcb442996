import Logging
import Metrics
import NIOCore
import NIOSSL
import NIOPosix
import Synchronization

/// A Redis connection that comes back: when it closes, a new one is opened with exponential
/// backoff (capped), and `onConnect` runs on it before any command may use it, which is where
/// a subscriber subscribes to its channels again.
///
/// Commands never wait for Redis longer than the connect timeout: while Redis is down they fail
/// fast (between attempts, at once), so callers can fall back or report the outage.
public final class RedisClient: RedisCommandRunning {
    private enum State {
        case idle
        case connecting(Task<RedisConnection, any Error>)
        case connected(RedisConnection)
        case backingOff(until: ContinuousClock.Instant, reason: String)
        case shutDown
    }

    private enum Step {
        case ready(RedisConnection)
        case wait(Task<RedisConnection, any Error>)
        case fail(RedisError)
    }

    public let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onPush: (@Sendable (RESPValue) -> Void)?
    private let onConnect: (@Sendable (RedisConnection) async throws -> Void)?
    private let state = Mutex(State.idle)
    private let backoff: Mutex<Duration>
    /// Whether a connection was opened before: every later one is a reconnect.
    private let connectedBefore = Atomic<Bool>(false)
    /// `chatd_redis_reconnects_total`: connections opened after the first.
    private let reconnects: Counter
    /// Whether the current outage was reported already: one warning per outage, the retries
    /// at debug level, so a long outage does not flood the log.
    private let outageReported = Atomic<Bool>(false)

    /// - Parameters:
    ///   - onPush: receives pub/sub messages, on the event loop, in order (subscriber clients).
    ///   - onConnect: runs on every new connection before it is handed out.
    ///   - metrics: makes `chatd_redis_reconnects_total` (docs/operations.md, "Metrics").
    init(
        configuration: RedisConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory,
        onPush: (@Sendable (RESPValue) -> Void)? = nil,
        onConnect: (@Sendable (RedisConnection) async throws -> Void)? = nil
    ) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.onPush = onPush
        self.onConnect = onConnect
        self.backoff = Mutex(configuration.initialBackoff)
        self.reconnects = Counter(label: "chatd_redis_reconnects_total", dimensions: [], factory: metrics)
    }

    /// A command client.
    public convenience init(configuration: RedisConfiguration, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) {
        self.init(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger, metrics: metrics)
    }

    /// Sends one command; Redis's error replies are thrown as ``RedisError``.
    @discardableResult
    public func command(_ arguments: [String]) async throws -> RESPValue {
        try await connection().command(arguments)
    }

    /// The live connection, opening one if there is none and the backoff allows an attempt now.
    func connection() async throws -> RedisConnection {
        let step: Step = state.withLock { state in
            switch state {
            case .connected(let connection) where connection.isActive:
                return .ready(connection)
            case .connecting(let task):
                return .wait(task)
            case .backingOff(let until, let reason) where ContinuousClock.now < until:
                return .fail(RedisError("Redis at \(configuration.address) is unavailable: \(reason)", isReply: false, wasNotSent: true))
            case .shutDown:
                return .fail(RedisError("the Redis client was shut down", isReply: false, wasNotSent: true))
            case .idle, .connected, .backingOff:
                let task = Task { try await self.attempt() }
                state = .connecting(task)
                return .wait(task)
            }
        }
        switch step {
        case .ready(let connection): return connection
        case .wait(let task): return try await task.value
        case .fail(let error): throw error
        }
    }

    /// The connection if one is up right now, without waiting for one.
    var currentConnection: RedisConnection? {
        state.withLock { state in
            if case .connected(let connection) = state, connection.isActive { connection } else { nil }
        }
    }

    public var isConnected: Bool { currentConnection != nil }

    /// This side's `ip:port` of the live connection, as Redis's CLIENT LIST shows it.
    public var localAddress: String? {
        guard let address = currentConnection?.channel.localAddress, let ip = address.ipAddress, let port = address.port
        else { return nil }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// Closes the connection for good; later commands fail.
    public func shutdown() async {
        let previous = state.withLock { state in
            defer { state = .shutDown }
            return state
        }
        switch previous {
        case .connected(let connection): await connection.close()
        case .connecting(let task): await (try? task.value)?.close()
        default: break
        }
    }

    private func attempt() async throws -> RedisConnection {
        let connection: RedisConnection
        do {
            // Built per connection: reconnects are rare, and a CA file replaced on disk is picked up.
            let tls = try configuration.tls.map { try NIOSSLContext(configuration: $0.clientConfiguration()) }
            connection = try await RedisConnection.connect(
                host: configuration.host,
                port: configuration.port,
                tls: tls,
                group: group,
                connectTimeout: TimeAmount(configuration.connectTimeout),
                commandTimeout: TimeAmount(configuration.commandTimeout),
                onPush: onPush
            )
        } catch {
            throw failed("cannot connect: \(error)")
        }
        do {
            if let password = configuration.password {
                try await connection.command(["AUTH"] + (configuration.user.map { [$0] } ?? []) + [password])
            }
            if let database = configuration.database {
                try await connection.command(["SELECT", String(database)])
            }
            try await onConnect?(connection)
        } catch {
            await connection.close()
            throw failed("setting up the connection failed: \(error)")
        }
        let keep = state.withLock { state in
            if case .shutDown = state { return false }
            state = .connected(connection)
            return true
        }
        guard keep else {
            await connection.close()
            throw RedisError("the Redis client was shut down", isReply: false, wasNotSent: true)
        }
        backoff.withLock { $0 = configuration.initialBackoff }
        outageReported.store(false, ordering: .relaxed)
        if connectedBefore.exchange(true, ordering: .relaxed) {
            logger.info("reconnected to Redis", metadata: ["redis": "\(configuration.address)"])
            reconnects.increment()
        }
        connection.closeFuture.whenComplete { _ in self.connectionClosed(connection) }
        return connection
    }

    /// Records a failed attempt and how long to wait before the next one.
    private func failed(_ reason: String) -> RedisError {
        let delay = backoff.withLock { backoff in
            defer { backoff = min(backoff * 2, configuration.maximumBackoff) }
            return backoff
        }
        state.withLock { state in
            if case .shutDown = state { return }
            state = .backingOff(until: ContinuousClock.now.advanced(by: delay), reason: reason)
        }
        let metadata: Logger.Metadata = ["redis": "\(configuration.address)", "reason": "\(reason)", "retry_in": "\(delay)"]
        if outageReported.exchange(true, ordering: .relaxed) {
            logger.debug("Redis still unavailable", metadata: metadata)
        } else {
            logger.warning("Redis unavailable; retrying with backoff", metadata: metadata)
        }
        return RedisError("Redis at \(configuration.address) is unavailable: \(reason)", isReply: false, wasNotSent: true)
    }

    /// Reconnects in the background, so that a subscriber is subscribed again even when no
    /// command asks for the connection.
    private func connectionClosed(_ connection: RedisConnection) {
        let lost = state.withLock { state in
            guard case .connected(let current) = state, current === connection else { return false }
            state = .idle
            return true
        }
        guard lost else { return }
        logger.warning("connection to Redis lost; reconnecting", metadata: ["redis": "\(configuration.address)"])
        Task {
            while true {
                if case .shutDown = state.withLock({ $0 }) { return }
                do {
                    _ = try await self.connection()
                    return
                } catch {
                    let wait = backoff.withLock { $0 }
                    try? await Task.sleep(for: wait)
                }
            }
        }
    }
}
