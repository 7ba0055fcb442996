import ChatCore
import ChatTestServices
import ChatTransport
import Synchronization
import Testing

/// Bounded queues over real sockets: a reader that stops reading is cut off, nobody else waits.
@Suite(.timeLimit(.minutes(2)))
struct BackpressureTests {
    @Test func aReaderThatStopsReadingIsCutOffWhileTheRoomKeepsReceiving() async throws {
        let configuration = ChatServerConfiguration(
            maximumQueuedBytesPerConnection: 64 * 1024,
            closeTimeout: .seconds(1),
            maximumMessagesPerSecond: nil
        )
        try await TestServer.with(configuration: configuration) { server in
            let room = try await server.createRoom()
            try await server.createUser("Slow")
            try await server.createUser("Fast")
            let stalled = try await RawHTTP.stalledJoin(port: server.port, path: server.joinPath(room: room, user: "Slow"))
            let fast = try await ChatClient.join(server.joinURL(room: room, user: "Fast"))
            try await server.waitForUsers(in: room, toBe: ["Fast", "Slow"])

            // 16 MB of messages: far beyond the kernel's socket buffers and the 64 KiB queue bound.
            let text = String(repeating: "x", count: 8_000)
            let total = 2_000
            for index in 0..<total {
                fast.send("\(index) \(text)")
                if index % 100 == 99 { try await fast.waitForMessages(index - 50) }
            }
            let received = try await fast.waitForMessages(total, within: 60)
            #expect(received.map(\.seq) == Array(1...Int64(total)), "the fast reader got everything, in order")
            try await server.waitForUsers(in: room, toBe: ["Fast"])
            #expect(server.counters.slowConsumersClosed == 1)
            try await stalled.close()
            await fast.leave()
        }
    }

    @Test func theLastMemberLeavingEndsTheRoomsBrokerSubscription() async throws {
        let broker = CountingBroker(InMemoryMessageBroker())
        var backends = ChatBackends.inMemory()
        backends.broker = broker
        try await TestServer.with(backends: backends) { server in
            let room = try await server.createRoom()
            try await server.createUser("One")
            try await server.createUser("Two")
            let one = try await ChatClient.join(server.joinURL(room: room, user: "One"))
            let two = try await ChatClient.join(server.joinURL(room: room, user: "Two"))
            // Both are live members once both see a message: a join finishes after its 101.
            two.send("both here")
            _ = try await one.waitForMessages(1)
            _ = try await two.waitForMessages(1)
            #expect(broker.active == 1, "one subscription per room per server, however many members")
            await one.leave()
            #expect(broker.active == 1)
            await two.leave()
            try await server.waitForUsers(in: room, toBe: [])
            _ = try await eventually("the room's subscription ended") { broker.active == 0 ? true : nil }
            // And a new member subscribes again and chats.
            let again = try await ChatClient.join(server.joinURL(room: room, user: "One"))
            again.send("back")
            #expect(try await again.waitForMessages(2).map(\.message) == ["both here", "back"], "history, then the new message")
            #expect(broker.active == 1)
            await again.leave()
        }
    }
}

/// Wraps a broker and counts its live subscriptions.
final class CountingBroker: MessageBroker {
    private let base: any MessageBroker
    private let count = Atomic<Int>(0)

    var active: Int { count.load(ordering: .relaxed) }

    init(_ base: any MessageBroker) {
        self.base = base
    }

    func publish(_ draft: MessageDraft) async throws -> PublishReceipt {
        try await base.publish(draft)
    }

    func subscribe(to room: RoomID, deliver: @escaping @Sendable (ChatMessage) -> Void) async throws -> any BrokerSubscription {
        let subscription = try await base.subscribe(to: room, deliver: deliver)
        count.add(1, ordering: .relaxed)
        return Counted(base: subscription, owner: self)
    }

    func recentHistory(of room: RoomID, limit: Int) async throws -> [ChatMessage] {
        try await base.recentHistory(of: room, limit: limit)
    }

    func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange {
        try await base.messages(of: room, after: position, limit: limit)
    }

    private struct Counted: BrokerSubscription {
        let base: any BrokerSubscription
        let owner: CountingBroker

        func cancel() async {
            await base.cancel()
            owner.count.subtract(1, ordering: .relaxed)
        }
    }
}
