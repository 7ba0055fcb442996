import ChatCore
import Logging
import NIOCore
import Synchronization

/// The broker on Redis: numbering, recent history and fan-out to every server in one Lua script
/// (``RedisPublishScript``), delivery over Pub/Sub on the room's channel `chatroom:{id}`.
///
/// Two connections: commands (pipelined, shared by every publisher of this process) and the
/// subscriber. Pub/Sub drops what is published while the subscriber connection is down; each
/// subscription notices the gap in `seq` and fills it from the history stream
/// (``RedisRoomDelivery``). A lost or set-back counter starts a new epoch in the script; every
/// subscription treats a new epoch as a reset.
public final class RedisMessageBroker: MessageBroker {
    /// How many messages per room the history stream keeps (at least; trimming is approximate).
    public let recentCapacity: Int
    private let commands: RedisClient
    private let subscriber: RedisSubscriber
    private let logger: Logger
    private let script = RedisScript(RedisPublishScript.source)
    private let undecodable = RedisCounter()
    private let missed = RedisCounter()
    /// How long a post id is remembered per user and room (the script's PX).
    public let postIDWindow: Duration
    /// The durable chat-log stream's cap, when this broker feeds the chat log (`nil`: it does
    /// not; ChatService appends to the log itself).
    public let chatLogCapacity: Int?

    public var feedsChatLog: Bool { chatLogCapacity != nil }

    /// Payloads on a room channel that were not messages (dropped, logged and counted).
    public var undecodableMessages: Int { undecodable.value }

    /// Messages a subscriber missed (its connection was down) that history no longer had.
    public var missedMessages: Int { missed.value }

    public init(
        configuration: RedisConfiguration,
        recentCapacity: Int = 1_000,
        postIDWindow: Duration = .seconds(300),
        chatLogCapacity: Int? = nil,
        logger: Logger
    ) {
        precondition(recentCapacity > 0 && postIDWindow > .zero && (chatLogCapacity ?? 1) > 0)
        self.chatLogCapacity = chatLogCapacity
        self.recentCapacity = recentCapacity
        self.postIDWindow = postIDWindow
        self.logger = logger
        self.commands = RedisClient(configuration: configuration, logger: logger)
        self.subscriber = RedisSubscriber(configuration: configuration, logger: logger)
    }

    /// The connection that carries deliveries, for tests and health reports.
    public var subscriberClient: RedisClient { subscriber.client }

    /// The connection that publishes and reads history.
    public var commandClient: RedisClient { commands }

    public func publish(_ draft: MessageDraft) async throws -> PublishReceipt {
        let windowMilliseconds = postIDWindow.components.seconds * 1_000 + postIDWindow.components.attoseconds / 1_000_000_000_000_000
        let reply = try await script.run(
            on: commands,
            keys: [RedisKeys.sequence(draft.room), RedisKeys.recent(draft.room), RedisKeys.epoch(draft.room)],
            arguments: [
                RedisKeys.channel(draft.room), RedisMessageCodec.prefix(of: draft), String(recentCapacity),
                draft.postID.map { RedisKeys.post(draft.room, user: draft.user, id: $0) } ?? "", String(max(1, windowMilliseconds)),
                RoomEpoch.random().rawValue,
                chatLogCapacity == nil ? "" : RedisKeys.chatLog, String(chatLogCapacity ?? 0),
            ]
        )
        guard let fields = reply.array, fields.count == 3, let published = fields[0].int, let epoch = fields[1].string, let seq = fields[2].int else {
            throw RedisError("the publish script returned \(reply), not {published, epoch, seq}")
        }
        let position = MessagePosition(epoch: RoomEpoch(rawValue: epoch), seq: seq)
        return PublishReceipt(message: draft.published(at: position), isRepeat: published == 0)
    }

    public func subscribe(
        to room: RoomID,
        deliver: @escaping @Sendable (ChatMessage) -> Void
    ) async throws -> any BrokerSubscription {
        let channel = RedisKeys.channel(room)
        let logger = self.logger
        let undecodable = self.undecodable
        let commands = self.commands
        let delivery = RedisRoomDelivery(
            historyLimit: recentCapacity,
            missed: missed,
            logger: logger,
            history: { limit in try await Self.recentHistory(of: room, limit: limit, on: commands) },
            deliver: deliver
        )
        let id = try await subscriber.subscribe(to: channel) { payload in
            do {
                delivery.receive(try RedisMessageCodec.decode(payload))
            } catch {
                undecodable.increment()
                logger.warning("dropping a payload that is not a chat message", metadata: ["channel": "\(channel)", "error": "\(error)"])
            }
        }
        return Subscription(subscriber: subscriber, channel: channel, id: id, delivery: delivery)
    }

    public func recentHistory(of room: RoomID, limit: Int) async throws -> [ChatMessage] {
        try await Self.recentHistory(of: room, limit: limit, on: commands)
    }

    public func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange {
        MessageRange.after(position, in: try await Self.recentHistory(of: room, limit: recentCapacity, on: commands), limit: limit)
    }

    private static func recentHistory(of room: RoomID, limit: Int, on commands: RedisClient) async throws -> [ChatMessage] {
        guard limit > 0 else { return [] }
        let reply = try await commands.command(["XREVRANGE", RedisKeys.recent(room), "+", "-", "COUNT", String(limit)])
        guard let entries = reply.array else { throw RedisError("XREVRANGE returned \(reply)") }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(entries.count)
        for entry in entries.reversed() {
            guard let fields = entry.array?.last?.array else { throw RedisError("malformed stream entry \(entry)") }
            var index = 0
            while index + 1 < fields.count {
                if fields[index].string == "message", case .bulkString(let payload) = fields[index + 1] {
                    messages.append(try RedisMessageCodec.decode(payload))
                }
                index += 2
            }
        }
        return messages
    }

    /// Closes both connections; subscriptions stop receiving.
    public func shutdown() async {
        await commands.shutdown()
        await subscriber.shutdown()
    }

    private struct Subscription: BrokerSubscription {
        let subscriber: RedisSubscriber
        let channel: String
        let id: UInt64
        let delivery: RedisRoomDelivery

        func cancel() async {
            delivery.cancel()
            subscriber.unsubscribe(from: channel, id: id)
        }
    }
}
