import ChatCore
import ChatStorage
import ChatTestServices
import Logging
import NIOCore
import Synchronization
import Testing

/// The payload on a room's channel as the fan-out receives it: the bytes the publish script
/// wrote (``EncodedChatMessage``), and anything else dropped without harm.
@Suite struct RedisPayloadTests {
    @Test func aPublishedMessageArrivesAsTheBytesTheOneWriterMakes() async throws {
        let pool = BrokerPool(configuration: try TestRedis.configuration())
        let broker = pool.make()
        let room = uniqueRoom()
        let inbox = EncodedInbox()
        let subscription = try await broker.subscribeEncoded(to: room) { inbox.add($0) }
        let text = "quote \" backslash \\ newline \n tab \t bell \u{07} Zoë 🎉"
        let receipt = try await broker.publish(MessageDraft(room: room, user: UserName(trusted: "Ann"), text: text, timestamp: 1_732_860_000_000))
        try await inbox.wait(for: 1)
        let delivered = try #require(inbox.messages.first)
        #expect(delivered.room == room && delivered.position == receipt.position)
        #expect(delivered.bytes == EncodedChatMessage(receipt.message).bytes, "the script's payload is the one writer's")
        var seed = ByteBuffer()
        delivered.writeSeedJSON(into: &seed)
        var expected = ByteBuffer()
        ChatMessageJSON.write(receipt.message, into: &expected)
        #expect(String(buffer: seed) == String(buffer: expected))
        await subscription.cancel()
        await pool.shutdown()
    }

    @Test func aPayloadOfAnotherFormatIsDroppedLoggedOnceAndTheRoomGoesOn() async throws {
        let configuration = try TestRedis.configuration()
        let logs = LogRecorder()
        let broker = RedisMessageBroker(configuration: configuration, metrics: MeasuredMetrics().factory, logger: Logger(label: "test.payload") { _ in logs })
        let room = uniqueRoom()
        let encoded = EncodedInbox()
        let values = Inbox()
        let subscriptions = [
            try await broker.subscribeEncoded(to: room) { encoded.add($0) },
            try await broker.subscribe(to: room) { values.add($0) },
        ]
        let foreign = [
            "not json at all",
            #"{"chatroom":\#(room.rawValue),"user":"old","message":"before epochs","timestamp":1,"seq":1}"#,
            #"{"chatroom":1,"user":"x","message":"another room's","timestamp":1,"seq":1,"epoch":"abc"}"#,
            #"{"chatroom":\#(room.rawValue),"user":"x","message":"cut off"#,
            #"{"seq":1,"epoch":"abc","chatroom":\#(room.rawValue),"user":"x","message":"reordered","timestamp":1}"#,
        ]
        for payload in foreign {
            _ = try await broker.commandClient.command(["PUBLISH", "chatroom:\(room.rawValue)", payload])
        }
        let receipt = try await broker.publish(MessageDraft(room: room, user: UserName(trusted: "Ann"), text: "real", timestamp: 1))
        // Pub/Sub keeps one publisher's order: once the real message is here, the others were handled.
        try await encoded.wait(for: 1)
        try await values.wait(for: 1)
        #expect(encoded.messages.map(\.position) == [receipt.position])
        #expect(values.messages == [receipt.message])
        #expect(broker.measured.int("chatd_redis_undecodable_payloads_total") == 2 * foreign.count, "each subscription dropped each one")
        let warnings = logs.entries.filter { $0.level == .warning && $0.message.contains("not a chat message") }
        #expect(warnings.count == 2, "one warning per subscription, not per payload: \(logs.entries)")
        for subscription in subscriptions { await subscription.cancel() }
        await broker.shutdown()
    }
}

/// Collects the payload bytes a subscription hands on.
private final class EncodedInbox: Sendable {
    private let state = Mutex<[EncodedChatMessage]>([])

    var messages: [EncodedChatMessage] { state.withLock { $0 } }

    func add(_ message: EncodedChatMessage) {
        state.withLock { $0.append(message) }
    }

    func wait(for count: Int) async throws {
        #expect(try await eventually(within: .seconds(10)) { self.messages.count >= count }, "\(messages.count) of \(count) arrived")
    }
}

/// A log handler that keeps what it is given.
private final class LogRecorder: LogHandler, Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
    }

    private let recorded = Mutex<[Entry]>([])

    var entries: [Entry] { recorded.withLock { $0 } }

    var logLevel: Logger.Level {
        get { .debug }
        set {}
    }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    subscript(metadataKey _: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        recorded.withLock { $0.append(Entry(level: event.level, message: "\(event.message)")) }
    }
}
