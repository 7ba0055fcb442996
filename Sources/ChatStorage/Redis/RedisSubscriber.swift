import Logging
import Metrics
import NIOCore
import Synchronization

/// The pub/sub side: one connection of its own (a subscribed connection can send nothing but
/// (un)subscribe commands), shared by every subscription of this process.
///
/// Which channels are wanted lives here, not in Redis, so that after a reconnect the new
/// connection subscribes to every one of them again before it is used.
final class RedisSubscriber: Sendable {
    typealias Handler = @Sendable (ByteBuffer) -> Void

    /// Handlers per channel. Deliveries run on the connection's event loop in Redis's order.
    private final class Registry: Sendable {
        private let channels = Mutex<[String: [UInt64: Handler]]>([:])
        private let nextID = Atomic<UInt64>(0)
        private let connectedBefore = Atomic<Bool>(false)

        /// Whether a connection was made before this one (for the log: only a reconnect is news).
        func markConnected() -> Bool {
            connectedBefore.exchange(true, ordering: .relaxed)
        }

        var names: [String] { channels.withLock { Array($0.keys) } }

        func add(_ channel: String, _ handler: @escaping Handler) -> UInt64 {
            let id = nextID.add(1, ordering: .relaxed).newValue
            channels.withLock { $0[channel, default: [:]][id] = handler }
            return id
        }

        /// Removes a handler; `whenLast` runs under the lock when the channel has none left, so
        /// that the UNSUBSCRIBE it sends is ordered before any later SUBSCRIBE of that channel.
        func remove(_ channel: String, _ id: UInt64, whenLast: () -> Void) {
            channels.withLock { channels in
                guard channels[channel]?.removeValue(forKey: id) != nil else { return }
                if channels[channel]?.isEmpty == true {
                    channels[channel] = nil
                    whenLast()
                }
            }
        }

        func deliver(_ push: RESPValue) {
            guard case .array(let parts) = push, parts.count >= 3,
                case .bulkString(let payload) = parts[parts.count - 1],
                let channel = parts[parts.count - 2].string
            else { return }
            let handlers = channels.withLock { $0[channel].map { Array($0.values) } ?? [] }
            for handler in handlers { handler(payload) }
        }
    }

    private let registry: Registry
    let client: RedisClient
    /// SSUBSCRIBE/SUNSUBSCRIBE (shard channels, `smessage` pushes) instead of SUBSCRIBE/UNSUBSCRIBE.
    /// On one connection this is only right while every channel's slot is on that one node (a
    /// single node owning all slots); the cluster subscriber routes each channel to its node.
    private let sharded: Bool
    private let subscribeCommand: String

    /// `metrics` makes the connection's `chatd_redis_reconnects_total`. `sharded`: the channels
    /// are shard channels (``RedisConfiguration/shardedPubSub`` for room and presence channels).
    init(configuration: RedisConfiguration, sharded: Bool = false, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) {
        let registry = Registry()
        self.registry = registry
        self.sharded = sharded
        let subscribe = sharded ? "SSUBSCRIBE" : "SUBSCRIBE"
        self.subscribeCommand = subscribe
        self.client = RedisClient(
            configuration: configuration,
            logger: logger,
            metrics: metrics,
            onPush: { registry.deliver($0) },
            onConnect: { connection in
                // Pipelined: every SUBSCRIBE is written before the first answer is awaited.
                let replies = registry.names.map { connection.send([subscribe, $0]) }
                for reply in replies { _ = try await reply.get().orThrow() }
                if registry.markConnected() {
                    logger.info("reconnected to Redis Pub/Sub and subscribed again", metadata: ["channels": "\(replies.count)"])
                }
            }
        )
    }

    /// Registers `handler` and returns once Redis confirmed the subscription, so that every
    /// message published afterwards reaches it.
    func subscribe(to channel: String, handler: @escaping Handler) async throws -> UInt64 {
        let id = registry.add(channel, handler)
        do {
            let connection = try await client.connection()
            _ = try await connection.send([subscribeCommand, channel]).get().orThrow()
        } catch {
            unsubscribe(from: channel, id: id)
            throw error
        }
        return id
    }

    func unsubscribe(from channel: String, id: UInt64) {
        registry.remove(channel, id) {
            // Without a connection there is nothing to undo: a new one subscribes only to what
            // the registry still holds.
            _ = client.currentConnection?.send([sharded ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", channel])
        }
    }

    func shutdown() async {
        await client.shutdown()
    }
}
