import ChatCore
import ChatTestServices
import Metrics
import Synchronization
import Testing

@testable import ChatStorage

/// ``RedisRoomDelivery/catchUp()``: what a room subscription does when its channel was
/// subscribed again on another cluster node, where Pub/Sub carried nothing in between.
@Suite struct RedisRoomDeliveryCatchUpTests {
    private final class Harness: Sendable {
        let delivery: RedisRoomDelivery
        private let metrics = MeasuredMetrics()
        private let sink = Sink()

        var positions: [String] { sink.positions }
        var missed: Int { metrics.int("chatd_redis_missed_messages_total") }

        init(history: [EncodedChatMessage]) {
            let sink = self.sink
            delivery = RedisRoomDelivery(
                historyLimit: 1_000,
                missed: Counter(label: "chatd_redis_missed_messages_total", dimensions: [], factory: metrics.factory),
                logger: TestRedis.logger,
                history: { limit in Array(history.suffix(limit)) },
                deliver: { sink.add($0.position) }
            )
        }
    }

    private final class Sink: Sendable {
        private let delivered = Mutex<[MessagePosition]>([])
        var positions: [String] { delivered.withLock { $0.map(\.description) } }
        func add(_ position: MessagePosition) { delivered.withLock { $0.append(position) } }
    }

    private func message(_ seq: Int64, epoch: String = "a") -> EncodedChatMessage {
        EncodedChatMessage(ChatMessage(room: RoomID(1), user: UserName(trusted: "t"), text: "m\(seq)", timestamp: 1, seq: seq, epoch: RoomEpoch(rawValue: epoch)))
    }

    @Test func whatWasPublishedWhileTheChannelMovedArrivesAtOnce() async throws {
        let harness = Harness(history: (1...5).map { message($0) })
        for seq: Int64 in [1, 2] { harness.delivery.receive(message(seq)) }
        harness.delivery.catchUp()
        #expect(try await eventually(within: .seconds(5)) { harness.positions.count == 5 })
        #expect(harness.positions == ["a/1", "a/2", "a/3", "a/4", "a/5"])
        // The same messages live afterwards are repeats.
        for seq: Int64 in [3, 4, 5] { harness.delivery.receive(message(seq)) }
        harness.delivery.receive(message(6))
        #expect(harness.positions.count == 6 && harness.missed == 0)
    }

    @Test func nothingIsCaughtUpBeforeTheFirstDelivery() async throws {
        let harness = Harness(history: (1...3).map { message($0) })
        harness.delivery.catchUp()
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.positions.isEmpty, "the join's history covers what came before")
    }

    @Test func aLongerGapIsFilledFromTheWholeHistory() async throws {
        let harness = Harness(history: (1...250).map { message($0) })
        harness.delivery.receive(message(1))
        harness.delivery.catchUp()
        #expect(try await eventually(within: .seconds(10)) { harness.positions.count == 250 })
        #expect(harness.positions.last == "a/250" && harness.missed == 0)
    }

    @Test func aCounterTheFailoverLostShowsAsANewEpoch() async throws {
        // The promoted replica never got a/3: the publish script started epoch b above a/2.
        let harness = Harness(history: [message(1), message(2), message(3, epoch: "b"), message(4, epoch: "b")])
        for seq: Int64 in [1, 2] { harness.delivery.receive(message(seq)) }
        harness.delivery.catchUp()
        #expect(try await eventually(within: .seconds(5)) { harness.positions.count == 4 })
        #expect(harness.positions == ["a/1", "a/2", "b/3", "b/4"])
    }
}
