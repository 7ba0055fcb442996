import ChatCore
import ChatTestServices
import Metrics
import Synchronization
import Testing

@testable import ChatStorage

/// Gap filling on the delivery path, fed by hand: what a subscriber gets when Pub/Sub dropped
/// messages while its connection was down.
@Suite struct RedisRoomDeliveryTests {
    @Test func inOrderMessagesPassAndRepeatsAreDropped() async throws {
        let harness = Harness(history: [])
        for seq: Int64 in [1, 2, 2, 3, 1, 2] { harness.delivery.receive(message(seq)) }
        #expect(harness.seqs == [1, 2, 3], "within an epoch a lower seq is a repeat")
    }

    @Test func aNewEpochIsAResetAndALateMessageOfTheOldOneIsDropped() async throws {
        let harness = Harness(history: [])
        for position in [("a", 1), ("a", 2), ("b", 1), ("b", 2), ("a", 3), ("b", 3)] {
            harness.delivery.receive(message(Int64(position.1), epoch: position.0))
        }
        #expect(harness.positions == ["a/1", "a/2", "b/1", "b/2", "b/3"])
    }

    @Test func aNewEpochFromScratchIsFilledFromItsStart() async throws {
        // Redis lost everything: the new epoch starts at 1, and this subscriber missed b/1.
        let harness = Harness(history: [message(1, epoch: "b"), message(2, epoch: "b")])
        for (epoch, seq) in [("a", 1), ("a", 2), ("b", 2)] { harness.delivery.receive(message(Int64(seq), epoch: epoch)) }
        #expect(try await eventually(within: .seconds(30)) { harness.positions.count == 4 })
        #expect(harness.positions == ["a/1", "a/2", "b/1", "b/2"])
    }

    @Test func messagesMissedAcrossAResetAreFilledInStreamOrder() async throws {
        // Old epoch up to 5, then the counter was set back: the new epoch continues at 6.
        let history = (1...5).map { message($0, epoch: "a") } + (6...8).map { message($0, epoch: "b") }
        let harness = Harness(history: history)
        for (epoch, seq) in [("a", 1), ("a", 2), ("b", 8)] { harness.delivery.receive(message(Int64(seq), epoch: epoch)) }
        #expect(try await eventually(within: .seconds(30)) { harness.positions.count == 8 })
        #expect(harness.positions == ["a/1", "a/2", "a/3", "a/4", "a/5", "b/6", "b/7", "b/8"])
        #expect(harness.missed == 0)
        harness.delivery.receive(message(3, epoch: "a"))
        harness.delivery.receive(message(9, epoch: "b"))
        #expect(try await eventually(within: .seconds(30)) { harness.positions.count == 9 })
        #expect(harness.positions.last == "b/9", "the old epoch is retired")
    }

    @Test func aGapIsFilledFromHistoryBeforeLaterMessages() async throws {
        let harness = Harness(history: (1...8).map { message($0) })
        for seq: Int64 in [1, 2, 6, 7, 8] { harness.delivery.receive(message(seq)) }
        #expect(try await eventually(within: .seconds(30)) { harness.seqs.count == 8 })
        #expect(harness.seqs == Array(1...8))
        #expect(harness.missed == 0)
    }

    @Test func whatHistoryNoLongerHasIsSkippedAndCounted() async throws {
        let harness = Harness(history: [message(4), message(5)])
        for seq: Int64 in [1, 5] { harness.delivery.receive(message(seq)) }
        #expect(try await eventually(within: .seconds(30)) { harness.seqs.count == 3 })
        #expect(harness.seqs == [1, 4, 5])
        #expect(harness.missed == 2, "2 and 3 were lost")
    }

    @Test func aCancelledDeliveryDeliversNothingMore() async throws {
        let harness = Harness(history: (1...5).map { message($0) }, historyDelay: .milliseconds(200))
        harness.delivery.receive(message(1))
        harness.delivery.receive(message(4))
        harness.delivery.cancel()
        try await Task.sleep(for: .milliseconds(400))
        harness.delivery.receive(message(5))
        #expect(harness.seqs == [1])
    }

    private final class Harness: Sendable {
        let delivery: RedisRoomDelivery
        private let metrics = MeasuredMetrics()
        private let sink = Sink()

        /// What `chatd_redis_missed_messages_total` counted.
        var missed: Int { metrics.int("chatd_redis_missed_messages_total") }

        var seqs: [Int64] { sink.positions.map(\.seq) }
        var positions: [String] { sink.positions.map(\.description) }

        init(history: [EncodedChatMessage], historyDelay: Duration = .zero) {
            let sink = self.sink
            self.delivery = RedisRoomDelivery(
                historyLimit: 1_000,
                missed: Counter(label: "chatd_redis_missed_messages_total", dimensions: [], factory: metrics.factory),
                logger: TestRedis.logger,
                history: { limit in
                    try await Task.sleep(for: historyDelay)
                    return Array(history.suffix(limit))
                },
                deliver: { sink.add($0.position) }
            )
        }
    }

    private final class Sink: Sendable {
        private let delivered = Mutex<[MessagePosition]>([])

        var positions: [MessagePosition] { delivered.withLock { $0 } }

        func add(_ position: MessagePosition) {
            delivered.withLock { $0.append(position) }
        }
    }
}

private func message(_ seq: Int64, epoch: String = "a") -> EncodedChatMessage {
    EncodedChatMessage(ChatMessage(room: RoomID(1), user: UserName(trusted: "t"), text: "m\(seq)", timestamp: 1, seq: seq, epoch: RoomEpoch(rawValue: epoch)))
}
