import Logging
import Metrics
import Synchronization

/// Commands on a Redis Cluster: each goes to the master that serves the slot of its key
/// (``RedisClusterSlot/routingKey(of:)``), over one reconnecting ``RedisClient`` per master.
///
/// The slot map comes from `CLUSTER SHARDS` of any node that answers (the seeds, then every
/// node seen). A `MOVED` redirect corrects that slot and re-reads the map in the background; an
/// `ASK` redirect sends `ASKING` and the command to the importing node once. When a master
/// cannot be reached, or the cluster answers `CLUSTERDOWN` or `TRYAGAIN` (a failover or a
/// migration in progress), the map is read again and the command retried with backoff until
/// the command timeout: a replica promoted in that time takes over without an error. A command
/// whose connection was lost after it was sent is not retried (it may have run); its error is
/// the caller's, as on one Redis.
public final class RedisClusterClient: RedisCommandRunning {
    public let configuration: RedisConfiguration
    private let logger: Logger
    private let metrics: any MetricsFactory
    private struct State {
        var map = RedisClusterSlotMap()
        var clients: [BackendEndpoint.Address: RedisClient] = [:]
        var refreshing: Task<RedisClusterSlotMap, any Error>?
        var shutDown = false
    }
    private let state = Mutex(State())
    private let maintenance = Mutex<Task<Void, Never>?>(nil)
    /// `chatd_redis_cluster_redirects_total` and `chatd_redis_cluster_map_refreshes_total`.
    private let redirects: Counter
    private let refreshes: Counter
    /// Redirects one command may follow before it fails (a map changing faster than that is broken).
    static let redirectLimit = 16

    /// - Parameter configuration: a cluster configuration (``RedisConfiguration/clusterNodes``);
    ///   its credentials, TLS and timeouts apply to every node.
    public init(configuration: RedisConfiguration, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) {
        precondition(configuration.isCluster, "a RedisClusterClient needs the cluster's nodes")
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.redirects = Counter(label: "chatd_redis_cluster_redirects_total", dimensions: [], factory: metrics)
        self.refreshes = Counter(label: "chatd_redis_cluster_map_refreshes_total", dimensions: [], factory: metrics)
        let interval = configuration.clusterMapRefreshInterval
        maintenance.withLock {
            $0 = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let self, !Task.isCancelled else { return }
                    _ = try? await self.refreshMap()
                }
            }
        }
    }

    /// The slot map as known now (empty before the first command or ``refreshMap()``).
    public var slotMap: RedisClusterSlotMap { state.withLock { $0.map } }

    /// The master serving `slot`, reading the map first if none is known yet.
    public func master(of slot: Int) async throws -> BackendEndpoint.Address {
        if let known = state.withLock({ $0.map.master(of: slot) }) { return known }
        let map = try await refreshMap()
        guard let master = map.master(of: slot) else {
            throw RedisError("CLUSTERDOWN no master serves slot \(slot)", isReply: true, wasNotSent: true)
        }
        return master
    }

    @discardableResult
    public func command(_ arguments: [String]) async throws -> RESPValue {
        let slot = RedisClusterSlot.routingKey(of: arguments).map(RedisClusterSlot.of)
        return try await command(arguments, slot: slot)
    }

    /// Sends `arguments` to the master of `slot` (any master when nil), following redirects.
    func command(_ arguments: [String], slot: Int?) async throws -> RESPValue {
        let deadline = ContinuousClock.now.advanced(by: configuration.commandTimeout)
        var delay = configuration.initialBackoff
        // Where a redirect sent the command: MOVED's node, or ASK's (with ASKING first).
        var redirect: (node: BackendEndpoint.Address, asking: Bool)?
        var redirected = 0
        while true {
            let target: BackendEndpoint.Address
            do {
                if let redirect { target = redirect.node } else { target = try await node(for: slot) }
            } catch {
                try await pause(&delay, until: deadline, after: error)
                continue
            }
            let connection: RedisConnection
            do {
                connection = try await client(for: target).connection()
            } catch {
                // Not sent: the master is gone or restarting. Read the map again (a replica
                // may have been promoted) and retry after a pause.
                refreshSoon()
                redirect = nil
                try await pause(&delay, until: deadline, after: error)
                continue
            }
            do {
                if redirect?.asking == true {
                    let ask = connection.send(["ASKING"])
                    let reply = connection.send(arguments)
                    _ = try await ask.get().orThrow()
                    return try await reply.get().orThrow()
                }
                return try await connection.command(arguments)
            } catch let error as RedisError where error.isReply {
                let parts = error.description.split(separator: " ")
                switch error.code {
                case "MOVED", "ASK":
                    redirected += 1
                    redirects.increment()
                    guard redirected <= Self.redirectLimit, parts.count >= 3, let movedSlot = Int(parts[1]),
                        let address = Self.address(parts[2], default: target)
                    else { throw error }
                    let moved = error.code == "MOVED"
                    if moved {
                        state.withLock { $0.map.move(slot: movedSlot, to: address) }
                        refreshSoon()
                    }
                    redirect = (address, asking: !moved)
                    // Nodes bounce a command between them while a slot change spreads through
                    // the cluster: after the first few, redirects wait like any retry.
                    if redirected > 2 { try await pause(&delay, until: deadline, after: error) }
                case "CLUSTERDOWN", "TRYAGAIN":
                    refreshSoon()
                    redirect = nil
                    try await pause(&delay, until: deadline, after: error)
                default:
                    throw error
                }
            } catch let error as RedisError where error.wasNotSent {
                refreshSoon()
                redirect = nil
                try await pause(&delay, until: deadline, after: error)
            }
        }
    }

    /// Waits `delay` (doubling it, capped) unless that passes `deadline`; then throws `error`.
    private func pause(_ delay: inout Duration, until deadline: ContinuousClock.Instant, after error: any Error) async throws {
        let now = ContinuousClock.now
        guard now.advanced(by: delay) < deadline else { throw error }
        try await Task.sleep(for: delay)
        delay = min(delay * 2, configuration.maximumBackoff)
    }

    /// The master of `slot`, or any master for a keyless command.
    private func node(for slot: Int?) async throws -> BackendEndpoint.Address {
        if let slot { return try await master(of: slot) }
        if let any = state.withLock({ $0.map.masters.first }) { return any }
        guard let any = try await refreshMap().masters.first else { throw RedisError("the cluster lists no master") }
        return any
    }

    /// The client of one node, made at first use.
    func client(for address: BackendEndpoint.Address) throws -> RedisClient {
        try state.withLock { state in
            guard !state.shutDown else { throw RedisError("the Redis client was shut down", isReply: false, wasNotSent: true) }
            if let known = state.clients[address] { return known }
            let client = RedisClient(configuration: configuration.node(address), logger: logger, metrics: metrics)
            state.clients[address] = client
            return client
        }
    }

    private func refreshSoon() {
        Task { _ = try? await self.refreshMap() }
    }

    /// Reads the slot map again from the first node that answers (one read at a time: callers
    /// meanwhile share it), and closes the clients of nodes that are no longer masters.
    @discardableResult
    public func refreshMap() async throws -> RedisClusterSlotMap {
        let task: Task<RedisClusterSlotMap, any Error> = state.withLock { state in
            if let running = state.refreshing { return running }
            let task = Task { try await self.readMap() }
            state.refreshing = task
            return task
        }
        defer { state.withLock { if $0.refreshing == task { $0.refreshing = nil } } }
        let map = try await task.value
        let retired: [RedisClient] = state.withLock { state in
            state.map = map
            let gone = state.clients.keys.filter { !map.masters.contains($0) }
            return gone.compactMap { state.clients.removeValue(forKey: $0) }
        }
        for client in retired { await client.shutdown() }
        return map
    }

    private func readMap() async throws -> RedisClusterSlotMap {
        refreshes.increment()
        let known = state.withLock { $0.map.masters + $0.map.replicas }
        var candidates = known
        for seed in configuration.clusterNodes where !candidates.contains(seed) { candidates.append(seed) }
        var failures: [String] = []
        for address in candidates {
            do {
                let reply = try await probe(address)
                let map = try RedisClusterSlotMap(shards: reply, tls: configuration.tls != nil, answeredBy: address)
                guard !map.masters.isEmpty else { throw RedisError("CLUSTER SHARDS listed no master") }
                return map
            } catch {
                failures.append("\(address): \(error)")
            }
        }
        logger.warning("no node of the Redis Cluster answered CLUSTER SHARDS", metadata: ["nodes": "\(candidates.count)"])
        throw RedisError("no node of the Redis Cluster answered CLUSTER SHARDS (\(failures.joined(separator: "; ")))", isReply: false, wasNotSent: true)
    }

    /// `CLUSTER SHARDS` on one node: a known master's client, or a connection of its own for
    /// a replica or seed, closed afterwards.
    private func probe(_ address: BackendEndpoint.Address) async throws -> RESPValue {
        if let client = state.withLock({ $0.clients[address] }) {
            return try await client.connection().command(["CLUSTER", "SHARDS"])
        }
        // Quiet: a node that does not answer is one of several tried; readMap reports the outcome.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let client = RedisClient(configuration: configuration.node(address), logger: quiet, metrics: metrics)
        defer { Task { await client.shutdown() } }
        return try await client.connection().command(["CLUSTER", "SHARDS"])
    }

    /// `host:port` of a redirect; an empty host (`:7002`, an unknown endpoint) is the host of the
    /// node that redirected.
    static func address(_ text: Substring, default node: BackendEndpoint.Address) -> BackendEndpoint.Address? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return BackendEndpoint.Address(host: host.isEmpty || host == "?" ? node.host : host, port: port)
    }

    public func shutdown() async {
        maintenance.withLock { $0?.cancel(); $0 = nil }
        let clients = state.withLock { state in
            state.shutDown = true
            defer { state.clients = [:] }
            return Array(state.clients.values)
        }
        for client in clients { await client.shutdown() }
    }
}

extension RedisClusterClient {
    /// Makes the map wrong about one slot, as a map read before a migration is (tests).
    func testingMove(slot: Int, to master: BackendEndpoint.Address) {
        state.withLock { $0.map.move(slot: slot, to: master) }
    }
}
