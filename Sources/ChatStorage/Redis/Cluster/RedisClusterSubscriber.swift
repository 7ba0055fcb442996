import Logging
import Metrics
import NIOCore
import Synchronization

/// The pub/sub side on a Redis Cluster: one subscriber connection per node that carries a
/// channel of this process.
///
/// Shard channels (`sharded`: room and presence channels) are SSUBSCRIBEd on the master that
/// serves the channel's slot, where SPUBLISH delivers them (`smessage`); plain channels
/// (`chatd:control`) are SUBSCRIBEd on one master, since a PUBLISH reaches every node. Where
/// each channel is subscribed is kept here (``placement``) and set right again (``rebalance()``)
/// whenever it may have gone wrong: the server's `sunsubscribe` push when a slot moved, a node
/// connection closing, and every map refresh interval. Messages published while a channel moves
/// are lost to Pub/Sub, as across a reconnect: each room subscription notices the gap at its
/// next message and fills it from history (``RedisRoomDelivery``).
final class RedisClusterSubscriber: RedisChannelSubscribing {
    typealias Handler = RedisSubscriptionRegistry.Handler

    private let registry = RedisSubscriptionRegistry()
    private let cluster: RedisClusterClient
    private let configuration: RedisConfiguration
    private let sharded: Bool
    private let logger: Logger
    private let metrics: any MetricsFactory
    private struct State {
        var placement: [String: BackendEndpoint.Address] = [:]
        var nodes: [BackendEndpoint.Address: RedisClient] = [:]
        var rebalancing = false
        var again = false
        var shutDown = false
    }
    private let state = Mutex(State())
    private let maintenance = Mutex<Task<Void, Never>?>(nil)

    init(configuration: RedisConfiguration, sharded: Bool, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) {
        self.configuration = configuration
        self.sharded = sharded
        self.logger = logger
        self.metrics = metrics
        self.cluster = RedisClusterClient(configuration: configuration, logger: logger, metrics: metrics)
        let interval = configuration.clusterMapRefreshInterval
        maintenance.withLock {
            $0 = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let self, !Task.isCancelled else { return }
                    await self.rebalance()
                }
            }
        }
    }

    private var verb: String { sharded ? "SSUBSCRIBE" : "SUBSCRIBE" }

    /// The nodes each wanted channel is subscribed on (for tests and reports).
    var placement: [String: BackendEndpoint.Address] { state.withLock { $0.placement } }

    func subscribe(to channel: String, handler: @escaping Handler, resubscribed: (@Sendable () -> Void)?) async throws -> UInt64 {
        let id = registry.add(channel, handler, resubscribed: resubscribed)
        let deadline = ContinuousClock.now.advanced(by: configuration.commandTimeout)
        var delay = configuration.initialBackoff
        while true {
            do {
                try await place(channel)
                return id
            } catch {
                let redirected = (error as? RedisError).map { $0.isReply && ($0.code == "MOVED" || $0.code == "CLUSTERDOWN" || $0.code == "TRYAGAIN") } ?? false
                let notSent = (error as? RedisError)?.wasNotSent ?? false
                guard redirected || notSent, ContinuousClock.now.advanced(by: delay) < deadline else {
                    unsubscribe(from: channel, id: id)
                    throw error
                }
                _ = try? await cluster.refreshMap()
                try await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.maximumBackoff)
            }
        }
    }

    func unsubscribe(from channel: String, id: UInt64) {
        registry.remove(channel, id) {
            let node = state.withLock { state -> RedisClient? in
                guard let address = state.placement.removeValue(forKey: channel) else { return nil }
                return state.nodes[address]
            }
            // Without a connection there is nothing to undo: a new one subscribes only to what
            // is still placed on it. SUNSUBSCRIBE's answer comes as a push.
            guard let connection = node?.currentConnection else { return }
            if sharded {
                connection.sendWithoutReply(["SUNSUBSCRIBE", channel])
            } else {
                _ = connection.send(["UNSUBSCRIBE", channel])
            }
        }
    }

    /// Subscribes `channel` on the node that should carry it, and leaves the node that carried it
    /// before, if another.
    private func place(_ channel: String) async throws {
        let target = try await node(for: channel)
        let client = try nodeClient(target)
        let connection = try await client.connection()
        // The registry is asked outside the state's lock: unsubscribing takes the two the other
        // way round.
        guard registry.contains(channel) else { return }
        let previous: BackendEndpoint.Address? = state.withLock { state in
            defer { state.placement[channel] = target }
            return state.placement[channel]
        }
        _ = try await connection.send([verb, channel]).get().orThrow()
        if let previous, previous != target, let old = state.withLock({ $0.nodes[previous] })?.currentConnection {
            if sharded { old.sendWithoutReply(["SUNSUBSCRIBE", channel]) } else { _ = old.send(["UNSUBSCRIBE", channel]) }
        }
    }

    /// The master of the channel's slot, or for a plain channel the master it is on already
    /// (while that one is still a master) or else the first.
    private func node(for channel: String) async throws -> BackendEndpoint.Address {
        if sharded { return try await cluster.master(of: RedisClusterSlot.of(channel)) }
        let map = cluster.slotMap.masters.isEmpty ? try await cluster.refreshMap() : cluster.slotMap
        if let current = state.withLock({ $0.placement[channel] }), map.masters.contains(current) { return current }
        guard let first = map.masters.first else { throw RedisError("the cluster lists no master", isReply: false, wasNotSent: true) }
        return first
    }

    private func nodeClient(_ address: BackendEndpoint.Address) throws -> RedisClient {
        try state.withLock { state in
            guard !state.shutDown else { throw RedisError("the Redis subscriber was shut down", isReply: false, wasNotSent: true) }
            if let known = state.nodes[address] { return known }
            let client = makeClient(address)
            state.nodes[address] = client
            return client
        }
    }

    private func makeClient(_ address: BackendEndpoint.Address) -> RedisClient {
        let registry = registry
        let verb = verb
        return RedisClient(
            configuration: configuration.node(address),
            logger: logger,
            metrics: metrics,
            onPush: { [weak self] push in
                if case .array(let parts) = push, parts.first?.string == "sunsubscribe", let channel = parts.count > 1 ? parts[1].string : nil {
                    self?.unsubscribed(channel, by: address)
                } else {
                    registry.deliver(push)
                }
            },
            onConnect: { [weak self] connection in
                guard let self else { return }
                // A reconnect to the same node: what is placed on it is subscribed again.
                let channels = state.withLock { state in state.placement.filter { $0.value == address }.map(\.key) }
                let replies = channels.map { connection.send([verb, $0]) }
                for reply in replies { _ = try await reply.get().orThrow() }
                for channel in channels { registry.resubscribed(channel) }
                connection.closeFuture.whenComplete { _ in Task { await self.rebalance() } }
            }
        )
    }

    /// A `sunsubscribe` push: the answer to our own SUNSUBSCRIBE (the channel is no longer
    /// wanted, or was moved), or Redis's notice that the channel's slot moved to another node.
    private func unsubscribed(_ channel: String, by address: BackendEndpoint.Address) {
        guard registry.contains(channel) else { return }
        let moved = state.withLock { state in
            guard state.placement[channel] == address else { return false }
            state.placement[channel] = nil
            return true
        }
        guard moved else { return }
        logger.info("a shard channel's slot moved; subscribing on its new master", metadata: ["channel": "\(channel)", "node": "\(address)"])
        Task { await rebalance() }
    }

    /// Reads the slot map and subscribes every wanted channel where it belongs, until all are
    /// (retrying with backoff while nodes are unreachable). One pass at a time; a request during a
    /// pass makes it run once more.
    func rebalance() async {
        let start = state.withLock { state in
            if state.shutDown { return false }
            if state.rebalancing { state.again = true; return false }
            state.rebalancing = true
            return true
        }
        guard start else { return }
        var delay = configuration.initialBackoff
        while true {
            state.withLock { $0.again = false }
            _ = try? await cluster.refreshMap()
            var failed = false
            for channel in registry.names {
                do {
                    let target = try await node(for: channel)
                    let (current, connected) = state.withLock { state in
                        (state.placement[channel], state.placement[channel].flatMap { state.nodes[$0]?.isConnected } ?? false)
                    }
                    if current == target && connected { continue }
                    try await place(channel)
                    registry.resubscribed(channel)
                } catch {
                    failed = true
                    logger.debug("cannot subscribe a channel on its node yet", metadata: ["channel": "\(channel)", "error": "\(error)"])
                }
            }
            retireIdleNodes()
            let done = state.withLock { state in
                if state.shutDown || (!failed && !state.again) {
                    state.rebalancing = false
                    return true
                }
                return false
            }
            if done { return }
            if failed {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.maximumBackoff)
            }
        }
    }

    /// Closes the connections of nodes that are no longer masters and carry no channel.
    private func retireIdleNodes() {
        let masters = cluster.slotMap.masters
        let idle: [RedisClient] = state.withLock { state in
            let used = Set(state.placement.values)
            let gone = state.nodes.keys.filter { !masters.contains($0) && !used.contains($0) }
            return gone.compactMap { state.nodes.removeValue(forKey: $0) }
        }
        for client in idle { Task { await client.shutdown() } }
    }

    func shutdown() async {
        maintenance.withLock { $0?.cancel(); $0 = nil }
        let nodes = state.withLock { state in
            state.shutDown = true
            defer { state.nodes = [:] }
            return Array(state.nodes.values)
        }
        for node in nodes { await node.shutdown() }
        await cluster.shutdown()
    }
}
