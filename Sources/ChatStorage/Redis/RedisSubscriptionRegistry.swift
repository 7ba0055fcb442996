import Logging
import Metrics
import NIOCore
import Synchronization

/// Which channels a subscriber wants and the handlers of each. It lives in the subscriber, not
/// in Redis, so that a new connection (a reconnect, another cluster node) subscribes to every
/// one of them again.
final class RedisSubscriptionRegistry: Sendable {
    typealias Handler = @Sendable (ByteBuffer) -> Void

    private let channels = Mutex<[String: [UInt64: Handler]]>([:])
    /// Per channel, what to tell its subscriptions when it was subscribed again elsewhere.
    private let resubscribers = Mutex<[String: [UInt64: @Sendable () -> Void]]>([:])
    private let nextID = Atomic<UInt64>(0)
    private let connectedBefore = Atomic<Bool>(false)

    /// Whether a connection was made before this one (for the log: only a reconnect is news).
    func markConnected() -> Bool {
        connectedBefore.exchange(true, ordering: .relaxed)
    }

    var names: [String] { channels.withLock { Array($0.keys) } }

    func contains(_ channel: String) -> Bool { channels.withLock { $0[channel] != nil } }

    func add(_ channel: String, _ handler: @escaping Handler, resubscribed: (@Sendable () -> Void)? = nil) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).newValue
        channels.withLock { $0[channel, default: [:]][id] = handler }
        if let resubscribed { resubscribers.withLock { $0[channel, default: [:]][id] = resubscribed } }
        return id
    }

    /// Tells the channel's subscriptions that it was subscribed again (on another node, or after
    /// a reconnect): what was published in between never reached them.
    func resubscribed(_ channel: String) {
        let calls = resubscribers.withLock { $0[channel].map { Array($0.values) } ?? [] }
        for call in calls { call() }
    }

    /// Removes a handler; `whenLast` runs under the lock when the channel has none left, so
    /// that the UNSUBSCRIBE it sends is ordered before any later SUBSCRIBE of that channel.
    func remove(_ channel: String, _ id: UInt64, whenLast: () -> Void) {
        resubscribers.withLock { resubscribers in
            resubscribers[channel]?[id] = nil
            if resubscribers[channel]?.isEmpty == true { resubscribers[channel] = nil }
        }
        channels.withLock { channels in
            guard channels[channel]?.removeValue(forKey: id) != nil else { return }
            if channels[channel]?.isEmpty == true {
                channels[channel] = nil
                whenLast()
            }
        }
    }

    /// A `message` or `smessage` push: `[kind, channel, payload]`. Anything else is ignored.
    func deliver(_ push: RESPValue) {
        guard case .array(let parts) = push, parts.count >= 3,
            case .bulkString(let payload) = parts[parts.count - 1],
            let channel = parts[parts.count - 2].string
        else { return }
        let handlers = channels.withLock { $0[channel].map { Array($0.values) } ?? [] }
        for handler in handlers { handler(payload) }
    }
}

/// What the adapters subscribe through: one Redis (``RedisSubscriber``) or a cluster
/// (``RedisClusterSubscriber``).
protocol RedisChannelSubscribing: Sendable {
    /// Registers `handler` and returns once Redis confirmed the subscription, so that every
    /// message published afterwards reaches it.
    /// `resubscribed` runs when the channel was subscribed again on another node (a cluster's
    /// slot moved or its master failed over), so the subscription can catch up on what it missed.
    func subscribe(
        to channel: String, handler: @escaping RedisSubscriptionRegistry.Handler, resubscribed: (@Sendable () -> Void)?
    ) async throws -> UInt64
    func unsubscribe(from channel: String, id: UInt64)
    func shutdown() async
}

extension RedisChannelSubscribing {
    func subscribe(to channel: String, handler: @escaping RedisSubscriptionRegistry.Handler) async throws -> UInt64 {
        try await subscribe(to: channel, handler: handler, resubscribed: nil)
    }
}

extension RedisConfiguration {
    /// A subscriber for this configuration. `sharded`: the channels are shard channels
    /// (SSUBSCRIBE; room and presence channels when ``shardedPubSub``); otherwise plain
    /// channels (SUBSCRIBE), which on a cluster one node carries for all.
    func makeSubscriber(sharded: Bool, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) -> any RedisChannelSubscribing {
        if isCluster { return RedisClusterSubscriber(configuration: self, sharded: sharded, logger: logger, metrics: metrics) }
        return RedisSubscriber(configuration: self, sharded: sharded, logger: logger, metrics: metrics)
    }
}
