import ChatCore
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat

/// ``ClusterControl`` on Redis: each heartbeat is a key with a TTL (``RedisKeys/node(_:)``),
/// listed through a sorted set scored by expiry; commands go over the Pub/Sub channel
/// ``RedisKeys/control(database:)`` on a subscriber connection of its own. The heartbeat keys
/// and their list share one hash tag, so each command (the list's MGET too) is one slot on Redis
/// Cluster; the control channel stays a broadcast channel (PUBLISH), which every node carries.
public final class RedisClusterControl: ClusterControl {
    private let client: any RedisCommandRunning
    private let subscriber: any RedisChannelSubscribing
    private let logger: Logger
    private let channel: String

    public init(configuration: RedisConfiguration, client: any RedisCommandRunning, logger: Logger) {
        self.channel = RedisKeys.control(database: configuration.database)
        self.client = client
        self.subscriber = configuration.makeSubscriber(sharded: false, logger: logger)
        self.logger = logger
    }

    public func beat(_ status: NodeStatus, ttl: Duration) async throws {
        let json = String(decoding: try JSONEncoder().encode(status), as: UTF8.self)
        let milliseconds = max(1, ttl.components.seconds * 1_000 + ttl.components.attoseconds / 1_000_000_000_000_000)
        let expires = Self.now() + milliseconds
        try await client.command(["SET", RedisKeys.node(status.id), json, "PX", String(milliseconds)])
        try await client.command(["ZADD", RedisKeys.nodes, String(expires), status.id])
    }

    public func nodes() async throws -> [NodeStatus] {
        let now = Self.now()
        try await client.command(["ZREMRANGEBYSCORE", RedisKeys.nodes, "-inf", "(\(now)"])
        let ids = try await client.command(["ZRANGE", RedisKeys.nodes, "0", "-1"]).array?.compactMap(\.string) ?? []
        guard !ids.isEmpty else { return [] }
        let values = try await client.command(["MGET"] + ids.map(RedisKeys.node)).array ?? []
        let decoder = JSONDecoder()
        return values.compactMap { value in
            guard let text = value.string else { return nil }  // expired between the two reads
            return try? decoder.decode(NodeStatus.self, from: Data(text.utf8))
        }.sorted { $0.id < $1.id }
    }

    public func withdraw(_ server: ServerID) async throws {
        try await client.command(["DEL", RedisKeys.node(server.rawValue)])
        try await client.command(["ZREM", RedisKeys.nodes, server.rawValue])
    }

    public func broadcast(_ command: ControlCommand) async throws {
        let json = String(decoding: try JSONEncoder().encode(command), as: UTF8.self)
        try await client.command(["PUBLISH", channel, json])
    }

    public func listen(_ deliver: @escaping @Sendable (ControlCommand) -> Void) async throws -> any BrokerSubscription {
        let logger = logger
        let channel = channel
        let id = try await subscriber.subscribe(to: channel) { payload in
            guard let command = try? JSONDecoder().decode(ControlCommand.self, from: Data(buffer: payload)) else {
                logger.warning("ignoring an admin command that is not understood", metadata: ["channel": "\(channel)"])
                return
            }
            deliver(command)
        }
        return Listener(subscriber: subscriber, channel: channel, id: id)
    }

    /// Closes the subscriber connection (the command client belongs to the caller).
    public func shutdown() async {
        await subscriber.shutdown()
    }

    private struct Listener: BrokerSubscription {
        let subscriber: any RedisChannelSubscribing
        let channel: String
        let id: UInt64
        func cancel() async { subscriber.unsubscribe(from: channel, id: id) }
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }
}
