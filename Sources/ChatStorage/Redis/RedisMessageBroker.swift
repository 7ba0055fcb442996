import ChatCore
import Logging
import Metrics
import NIOCore
import Synchronization

/// The broker on Redis: numbering, recent history and fan-out to every server in one Lua script
/// (``RedisPublishScript``), delivery over Pub/Sub on the room's channel `chatroom:{id}` (a shard channel with
/// ``RedisConfiguration/shardedPubSub``).
///
/// Two connections: commands (pipelined, shared by every publisher of this process) and the
/// subscriber. Pub/Sub drops what is published while the subscriber connection is down; each
/// subscription notices the gap in `seq` and fills it from the history stream
/// (``RedisRoomDelivery``). A lost or set-back counter starts a new epoch in the script; every
/// subscription treats a new epoch as a reset.
public final class RedisMessageBroker: MessageBroker {
    /// How many messages per room the history stream keeps (at least; trimming is approximate).
    public let recentCapacity: Int
    private let commands: any RedisCommandRunning
    private let subscriber: any RedisChannelSubscribing
    private let logger: Logger
    /// The factory of the broker's metrics (a test reads them back through it).
    public let metrics: any MetricsFactory
    private let script = RedisScript(RedisPublishScript.source)
    /// `chatd_redis_undecodable_payloads_total` and `chatd_redis_missed_messages_total`.
    private let undecodable: Counter
    private let missed: Counter
    /// How long a post id is remembered per user and room (the script's PX).
    public let postIDWindow: Duration
    /// The durable chat-log stream's cap, when this broker feeds the chat log (`nil`: it does
    /// not; ChatService appends to the log itself).
    public let chatLogCapacity: Int?

    public var feedsChatLog: Bool { chatLogCapacity != nil }

    /// `metrics` makes the broker's counts (docs/operations.md, "Metrics"): payloads on a room
    /// channel that were not messages (dropped and logged), messages a subscriber missed (its
    /// connection was down) that history no longer had, and both connections' reconnects.
    public init(
        configuration: RedisConfiguration,
        recentCapacity: Int = 1_000,
        postIDWindow: Duration = .seconds(300),
        chatLogCapacity: Int? = nil,
        metrics: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        precondition(recentCapacity > 0 && postIDWindow > .zero && (chatLogCapacity ?? 1) > 0)
        self.chatLogCapacity = chatLogCapacity
        self.recentCapacity = recentCapacity
        self.postIDWindow = postIDWindow
        self.logger = logger
        self.metrics = metrics
        self.commands = configuration.makeCommandClient(logger: logger, metrics: metrics)
        self.subscriber = configuration.makeSubscriber(sharded: configuration.shardedPubSub, logger: logger, metrics: metrics)
        self.undecodable = Counter(label: "chatd_redis_undecodable_payloads_total", dimensions: [], factory: metrics)
        self.missed = Counter(label: "chatd_redis_missed_messages_total", dimensions: [], factory: metrics)
    }

    /// The connection that carries deliveries, for tests and health reports (nil on a cluster,
    /// where each node has one).
    public var subscriberClient: RedisClient? { (subscriber as? RedisSubscriber)?.client }

    /// The client that publishes and reads history.
    public var commandClient: any RedisCommandRunning { commands }

    public func publish(_ draft: MessageDraft) async throws -> PublishReceipt {
        let windowMilliseconds = postIDWindow.components.seconds * 1_000 + postIDWindow.components.attoseconds / 1_000_000_000_000_000
        let reply = try await script.run(
            on: commands,
            keys: RedisPublishScript.keys(room: draft.room, user: draft.user, postID: draft.postID),
            arguments: [
                channel(of: draft.room), RedisMessageCodec.prefix(of: draft), String(recentCapacity),
                draft.postID == nil ? "" : "1", String(max(1, windowMilliseconds)),
                RoomEpoch.random().rawValue,
                chatLogCapacity == nil ? "" : "1", String(chatLogCapacity ?? 0),
                commands.configuration.shardedPubSub ? "SPUBLISH" : "PUBLISH",
            ]
        )
        guard let fields = reply.array, fields.count == 3, let published = fields[0].int, let epoch = fields[1].string, let seq = fields[2].int else {
            throw RedisError("the publish script returned \(reply), not {published, epoch, seq}")
        }
        let position = MessagePosition(epoch: RoomEpoch(rawValue: epoch), seq: seq)
        return PublishReceipt(message: draft.published(at: position), isRepeat: published == 0)
    }

    /// Decodes each payload (``subscribeEncoded(to:deliver:)`` is the fan-out's way, which
    /// does not).
    public func subscribe(
        to room: RoomID,
        deliver: @escaping @Sendable (ChatMessage) -> Void
    ) async throws -> any BrokerSubscription {
        let logger = self.logger
        return try await subscribeEncoded(to: room) { encoded in
            do {
                deliver(try RedisMessageCodec.decode(encoded.bytes))
            } catch {
                logger.error("a payload of the chat message format did not decode", metadata: ["room": "\(room)", "error": "\(error)"])
            }
        }
    }

    /// Hands on each payload's bytes as they came from Redis: the payload's known layout
    /// (``EncodedChatMessage``) gives the position for sequencing, the fan-out frames the bytes.
    public func subscribeEncoded(
        to room: RoomID,
        deliver: @escaping @Sendable (EncodedChatMessage) -> Void
    ) async throws -> any BrokerSubscription {
        let channel = self.channel(of: room)
        let logger = self.logger
        let commands = self.commands
        let delivery = RedisRoomDelivery(
            historyLimit: recentCapacity,
            missed: missed,
            logger: logger,
            history: { limit in try await Self.recentEntries(of: room, limit: limit, on: commands, logger: logger) },
            deliver: deliver
        )
        let foreign = ForeignPayloads(counter: undecodable, logger: logger, channel: channel)
        let id = try await subscriber.subscribe(
            to: channel,
            handler: { payload in
                if let message = EncodedChatMessage(parsing: payload), message.room == room {
                    delivery.receive(message)
                } else {
                    foreign.drop(payload)
                }
            },
            resubscribed: { delivery.catchUp() }
        )
        return Subscription(subscriber: subscriber, channel: channel, id: id, delivery: delivery)
    }

    /// The room's channel (``RedisKeys/channel(_:database:sharded:)``).
    private func channel(of room: RoomID) -> String {
        RedisKeys.channel(room, database: commands.configuration.database, sharded: commands.configuration.shardedPubSub)
    }

    public func recentHistory(of room: RoomID, limit: Int) async throws -> [ChatMessage] {
        try await Self.recentHistory(of: room, limit: limit, on: commands)
    }

    public func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange {
        MessageRange.after(position, in: try await Self.recentHistory(of: room, limit: recentCapacity, on: commands), limit: limit)
    }

    private static func recentHistory(of room: RoomID, limit: Int, on commands: any RedisCommandRunning) async throws -> [ChatMessage] {
        try await recentPayloads(of: room, limit: limit, on: commands).map(RedisMessageCodec.decode)
    }

    /// The recent history as payload bytes, for filling a subscriber's gap; an entry of another
    /// format is left out (the gap then counts it as missed).
    private static func recentEntries(of room: RoomID, limit: Int, on commands: any RedisCommandRunning, logger: Logger) async throws -> [EncodedChatMessage] {
        let payloads = try await recentPayloads(of: room, limit: limit, on: commands)
        let messages = payloads.compactMap { EncodedChatMessage(parsing: $0) }
        if messages.count < payloads.count {
            logger.warning("the room's history holds payloads of another format", metadata: ["room": "\(room)", "count": "\(payloads.count - messages.count)"])
        }
        return messages
    }

    /// The `message` field of the room's newest `limit` stream entries, oldest first.
    private static func recentPayloads(of room: RoomID, limit: Int, on commands: any RedisCommandRunning) async throws -> [ByteBuffer] {
        guard limit > 0 else { return [] }
        let reply = try await commands.command(["XREVRANGE", RedisKeys.recent(room), "+", "-", "COUNT", String(limit)])
        guard let entries = reply.array else { throw RedisError("XREVRANGE returned \(reply)") }
        var payloads: [ByteBuffer] = []
        payloads.reserveCapacity(entries.count)
        for entry in entries.reversed() {
            guard let fields = entry.array?.last?.array else { throw RedisError("malformed stream entry \(entry)") }
            var index = 0
            while index + 1 < fields.count {
                if fields[index].string == "message", case .bulkString(let payload) = fields[index + 1] {
                    payloads.append(payload)
                }
                index += 2
            }
        }
        return payloads
    }

    /// Closes both connections; subscriptions stop receiving.
    public func shutdown() async {
        await commands.shutdown()
        await subscriber.shutdown()
    }

    /// Payloads on a room's channel that are not of the chat message format (another
    /// publisher's, an older format): each is counted and dropped; the first per subscription is
    /// logged as a warning, the rest at debug level, so a chatty foreign publisher cannot flood the log.
    private final class ForeignPayloads: Sendable {
        private let counter: Counter
        private let logger: Logger
        private let channel: String
        private let logged = Atomic<Bool>(false)

        init(counter: Counter, logger: Logger, channel: String) {
            self.counter = counter
            self.logger = logger
            self.channel = channel
        }

        func drop(_ payload: ByteBuffer) {
            counter.increment()
            let first = !logged.exchange(true, ordering: .relaxed)
            logger.log(
                level: first ? .warning : .debug,
                "dropping a payload that is not a chat message of this format",
                metadata: ["channel": "\(channel)", "bytes": "\(payload.readableBytes)", "start": "\(String(buffer: payload.getSlice(at: payload.readerIndex, length: min(40, payload.readableBytes))!))"]
            )
        }
    }

    private struct Subscription: BrokerSubscription {
        let subscriber: any RedisChannelSubscribing
        let channel: String
        let id: UInt64
        let delivery: RedisRoomDelivery

        func cancel() async {
            delivery.cancel()
            subscriber.unsubscribe(from: channel, id: id)
        }
    }
}
