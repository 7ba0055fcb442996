import ChatCore
import Synchronization
import Testing

@testable import ChatStorage

/// Gap filling on the delivery path, fed by hand: what a subscriber gets when Pub/Sub dropped
/// messages while its connection was down.
@Suite struct RedisRoomDeliveryTests {
    @Test func inOrderMessagesPassAndRepeatsAreDropped() async throws {
        let harness = Harness(history: [])
        for seq: Int64 in [1, 2, 2, 3, 1, 2] { harness.delivery.receive(message(seq)) }
        // The second 1 is not a repeat: a count that starts again at 1 means Redis lost the counter.
        #expect(harness.seqs == [1, 2, 3, 1, 2])
    }

    @Test func aGapIsFilledFromHistoryBeforeLaterMessages() async throws {
        let harness = Harness(history: (1...8).map { message($0) })
        for seq: Int64 in [1, 2, 6, 7, 8] { harness.delivery.receive(message(seq)) }
        #expect(try await eventually(within: .seconds(30)) { harness.seqs.count == 8 })
        #expect(harness.seqs == Array(1...8))
        #expect(harness.missed.value == 0)
    }

    @Test func whatHistoryNoLongerHasIsSkippedAndCounted() async throws {
        let harness = Harness(history: [message(4), message(5)])
        for seq: Int64 in [1, 5] { harness.delivery.receive(message(seq)) }
        #expect(try await eventually(within: .seconds(30)) { harness.seqs.count == 3 })
        #expect(harness.seqs == [1, 4, 5])
        #expect(harness.missed.value == 2, "2 and 3 were lost")
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
        let missed = RedisCounter()
        private let sink = Sink()

        var seqs: [Int64] { sink.seqs }

        init(history: [ChatMessage], historyDelay: Duration = .zero) {
            let sink = self.sink
            self.delivery = RedisRoomDelivery(
                historyLimit: 1_000,
                missed: missed,
                logger: TestRedis.logger,
                history: { limit in
                    try await Task.sleep(for: historyDelay)
                    return Array(history.suffix(limit))
                },
                deliver: { sink.add($0.seq) }
            )
        }
    }

    private final class Sink: Sendable {
        private let delivered = Mutex<[Int64]>([])

        var seqs: [Int64] { delivered.withLock { $0 } }

        func add(_ seq: Int64) {
            delivered.withLock { $0.append(seq) }
        }
    }
}

private func message(_ seq: Int64) -> ChatMessage {
    ChatMessage(room: RoomID(1), user: UserName(trusted: "t"), text: "m\(seq)", timestamp: 1, seq: seq)
}
