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
/// (``RedisRoomDelivery``).
public final class RedisMessageBroker: MessageBroker {
    /// How many messages per room the history stream keeps (at least; trimming is approximate).
    public let recentCapacity: Int
    private let commands: RedisClient
    private let subscriber: RedisSubscriber
    private let logger: Logger
    private let script = RedisScript(RedisPublishScript.source)
    private let undecodable = RedisCounter()
    private let missed = RedisCounter()
    /// The highest `seq` this process has seen per room (published, delivered or read from
    /// history). It keeps numbering monotonic when Redis loses a room's counter (a restart
    /// without persistence): see ``RedisPublishScript``.
    private let highestSeen = HighestSeen()
    /// How far past the highest seen `seq` a lost counter restarts: other servers may have seen
    /// a little more than this one, and a jump forward is harmless where a repeat is not (every
    /// socket drops a `seq` it already delivered).
    public static let counterRestartMargin: Int64 = 1_000

    /// Payloads on a room channel that were not messages (dropped, logged and counted).
    public var undecodableMessages: Int { undecodable.value }

    /// Messages a subscriber missed (its connection was down) that history no longer had.
    public var missedMessages: Int { missed.value }

    public init(configuration: RedisConfiguration, recentCapacity: Int = 1_000, logger: Logger) {
        precondition(recentCapacity > 0)
        self.recentCapacity = recentCapacity
        self.logger = logger
        self.commands = RedisClient(configuration: configuration, logger: logger)
        self.subscriber = RedisSubscriber(configuration: configuration, logger: logger)
    }

    /// The connection that carries deliveries, for tests and health reports.
    public var subscriberClient: RedisClient { subscriber.client }

    /// The connection that publishes and reads history.
    public var commandClient: RedisClient { commands }

    public func publish(_ draft: MessageDraft) async throws -> PublishReceipt {
        let floor = highestSeen.seq(of: draft.room).map { $0 + Self.counterRestartMargin } ?? 0
        let reply = try await script.run(
            on: commands,
            keys: [RedisKeys.sequence(draft.room), RedisKeys.recent(draft.room)],
            arguments: [RedisKeys.channel(draft.room), RedisMessageCodec.prefix(of: draft), String(recentCapacity), String(floor)]
        )
        guard let seq = reply.int else { throw RedisError("the publish script returned \(reply), not a number") }
        highestSeen.saw(seq, in: draft.room)
        return PublishReceipt(message: draft.published(at: MessagePosition(epoch: .legacy, seq: seq)), isRepeat: false)
    }

    public func subscribe(
        to room: RoomID,
        deliver: @escaping @Sendable (ChatMessage) -> Void
    ) async throws -> any BrokerSubscription {
        let channel = RedisKeys.channel(room)
        let logger = self.logger
        let undecodable = self.undecodable
        let commands = self.commands
        let highestSeen = self.highestSeen
        let delivery = RedisRoomDelivery(
            historyLimit: recentCapacity,
            missed: missed,
            logger: logger,
            history: { limit in try await Self.recentHistory(of: room, limit: limit, on: commands) },
            deliver: { message in
                highestSeen.saw(message.seq, in: room)
                deliver(message)
            }
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
        let messages = try await Self.recentHistory(of: room, limit: limit, on: commands)
        if let last = messages.last { highestSeen.saw(last.seq, in: room) }
        return messages
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

/// The highest sequence number seen per room, shared by publishers and subscriptions.
private final class HighestSeen: Sendable {
    private let seqs = Mutex<[RoomID: Int64]>([:])

    func seq(of room: RoomID) -> Int64? { seqs.withLock { $0[room] } }

    func saw(_ seq: Int64, in room: RoomID) {
        seqs.withLock { seqs in
            if seq > seqs[room] ?? 0 { seqs[room] = seq }
        }
    }
}
