import Logging
import Metrics
import NIOCore
import Synchronization

/// The pub/sub side on one Redis: one connection of its own (a subscribed connection can send
/// nothing but (un)subscribe commands), shared by every subscription of this process.
///
/// Which channels are wanted lives in the registry, not in Redis, so that after a reconnect the
/// new connection subscribes to every one of them again before it is used. With `sharded` the
/// channels are shard channels (SSUBSCRIBE, `smessage`): a one-node cluster.
final class RedisSubscriber: RedisChannelSubscribing {
    typealias Handler = RedisSubscriptionRegistry.Handler

    private let registry: RedisSubscriptionRegistry
    let client: RedisClient
    /// SSUBSCRIBE/SUNSUBSCRIBE (shard channels, `smessage` pushes) instead of SUBSCRIBE/UNSUBSCRIBE.
    /// On one connection this is only right while every channel's slot is on that one node (a
    /// single node owning all slots); the cluster subscriber routes each channel to its node.
    private let sharded: Bool

    /// `metrics` makes the connection's `chatd_redis_reconnects_total`.
    init(configuration: RedisConfiguration, sharded: Bool = false, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) {
        let registry = RedisSubscriptionRegistry()
        self.registry = registry
        self.sharded = sharded
        let verb = sharded ? "SSUBSCRIBE" : "SUBSCRIBE"
        self.client = RedisClient(
            configuration: configuration,
            logger: logger,
            metrics: metrics,
            onPush: { registry.deliver($0) },
            onConnect: { connection in
                // Pipelined: every SUBSCRIBE is written before the first answer is awaited.
                let replies = registry.names.map { connection.send([verb, $0]) }
                for reply in replies { _ = try await reply.get().orThrow() }
                if registry.markConnected() {
                    logger.info("reconnected to Redis Pub/Sub and subscribed again", metadata: ["channels": "\(replies.count)"])
                }
            }
        )
    }

    /// `resubscribed` is not called: after a reconnect to the one Redis the room's next message
    /// shows any gap (``RedisRoomDelivery``).
    func subscribe(to channel: String, handler: @escaping Handler, resubscribed: (@Sendable () -> Void)?) async throws -> UInt64 {
        let id = registry.add(channel, handler)
        do {
            let connection = try await client.connection()
            _ = try await connection.send([sharded ? "SSUBSCRIBE" : "SUBSCRIBE", channel]).get().orThrow()
        } catch {
            unsubscribe(from: channel, id: id)
            throw error
        }
        return id
    }

    func unsubscribe(from channel: String, id: UInt64) {
        registry.remove(channel, id) {
            // Without a connection there is nothing to undo: a new one subscribes only to what
            // the registry still holds. SUNSUBSCRIBE's answer comes as a push.
            if sharded {
                client.currentConnection?.sendWithoutReply(["SUNSUBSCRIBE", channel])
            } else {
                _ = client.currentConnection?.send(["UNSUBSCRIBE", channel])
            }
        }
    }

    func shutdown() async {
        await client.shutdown()
    }
}
