import ChatCore
import Synchronization

/// A broker under test. Each call of ``makeBroker`` is another server's broker on the same
/// backing service (for the in-memory broker, the same instance), so cases can check that a
/// message crosses servers.
///
/// `setBackCounter`, where the backing service can lose or roll back a room's counter (Redis:
/// a failover to a lagging replica, a restore), sets the room's counter to the given value
/// (`nil`: deletes it); cases about that fault are skipped for brokers without it.
public struct BrokerFixture: Sendable {
    public let makeBroker: @Sendable () async throws -> any MessageBroker
    public let setBackCounter: (@Sendable (RoomID, Int64?) async throws -> Void)?

    public init(
        makeBroker: @escaping @Sendable () async throws -> any MessageBroker,
        setBackCounter: (@Sendable (RoomID, Int64?) async throws -> Void)? = nil
    ) {
        self.makeBroker = makeBroker
        self.setBackCounter = setBackCounter
    }
}

/// What every ``MessageBroker`` must do.
public enum MessageBrokerContract {
    public static let cases: [ContractCase<BrokerFixture>] = [
        ContractCase("sequence numbers start at 1 and count up per room") { fixture in
            let broker = try await fixture.makeBroker()
            let first = Unique.room()
            let second = Unique.room()
            var seqs: [Int64] = []
            for room in [first, first, second, first] {
                seqs.append(try await broker.publish(draft(room, "m")).message.seq)
            }
            try expectEqual(seqs, [1, 2, 1, 3], "sequence numbers")
        },
        ContractCase("the published message keeps what was posted") { fixture in
            let broker = try await fixture.makeBroker()
            let room = Unique.room()
            let posted = MessageDraft(room: room, user: UserName(trusted: "Zoë"), text: "héllo \"wörld\"\n🙂", timestamp: 1_732_860_000_123)
            let receipt = try await broker.publish(posted)
            let message = receipt.message
            try expectEqual(receipt.isRepeat, false, "a post without id is never a repeat")
            try expectEqual(message, posted.published(at: MessagePosition(epoch: message.epoch, seq: 1)), "message")
            try expectEqual(try await broker.recentHistory(of: room, limit: 10), [message], "history")
        },
        ContractCase("subscribers on every server receive each message once, in order") { fixture in
            let room = Unique.room()
            let publisher = try await fixture.makeBroker()
            let here = Collector()
            let there = Collector()
            let localSubscription = try await publisher.subscribe(to: room) { here.add($0) }
            let remoteSubscription = try await fixture.makeBroker().subscribe(to: room) { there.add($0) }
            for index in 1...50 { _ = try await publisher.publish(draft(room, "m\(index)")) }
            try await here.wait(for: 50)
            try await there.wait(for: 50)
            try expectEqual(here.messages.map(\.seq), Array(1...50), "local order")
            try expectEqual(there.messages.map(\.seq), Array(1...50), "remote order")
            try expectEqual(there.messages.map(\.text), (1...50).map { "m\($0)" }, "remote texts")
            await localSubscription.cancel()
            await remoteSubscription.cancel()
        },
        ContractCase("a cancelled subscription receives nothing more") { fixture in
            let broker = try await fixture.makeBroker()
            let room = Unique.room()
            let cancelled = Collector()
            let live = Collector()
            let subscription = try await broker.subscribe(to: room) { cancelled.add($0) }
            let witness = try await broker.subscribe(to: room) { live.add($0) }
            _ = try await broker.publish(draft(room, "before"))
            try await cancelled.wait(for: 1)
            await subscription.cancel()
            _ = try await broker.publish(draft(room, "after"))
            try await live.wait(for: 2)
            try expectEqual(cancelled.messages.map(\.text), ["before"], "after cancel")
            await witness.cancel()
        },
        ContractCase("subscriptions see only their room") { fixture in
            let broker = try await fixture.makeBroker()
            let mine = Unique.room()
            let other = Unique.room()
            let collector = Collector()
            let subscription = try await broker.subscribe(to: mine) { collector.add($0) }
            _ = try await broker.publish(draft(other, "elsewhere"))
            _ = try await broker.publish(draft(mine, "here"))
            try await collector.wait(for: 1)
            try expectEqual(collector.messages.map(\.text), ["here"], "delivered")
            await subscription.cancel()
        },
        ContractCase("concurrent publishers get distinct gap-free numbers, seen in order") { fixture in
            let room = Unique.room()
            let collector = Collector()
            let subscription = try await fixture.makeBroker().subscribe(to: room) { collector.add($0) }
            let seqs = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for publisher in 0..<4 {
                    group.addTask {
                        let broker = try await fixture.makeBroker()
                        var seqs: [Int64] = []
                        for index in 0..<25 { seqs.append(try await broker.publish(draft(room, "p\(publisher)-\(index)")).message.seq) }
                        return seqs
                    }
                }
                return try await group.reduce(into: [Int64]()) { $0 += $1 }
            }
            try expectEqual(seqs.sorted(), Array(1...100), "assigned numbers")
            try await collector.wait(for: 100)
            try expectEqual(collector.messages.map(\.seq), Array(1...100), "delivery order")
            await subscription.cancel()
        },
        ContractCase("recent history is the latest messages, oldest first") { fixture in
            let broker = try await fixture.makeBroker()
            let room = Unique.room()
            for index in 1...30 { _ = try await broker.publish(draft(room, "m\(index)")) }
            let recent = try await broker.recentHistory(of: room, limit: 10)
            try expectEqual(recent.map(\.seq), Array(21...30), "recent seqs")
            try expectEqual(try await broker.recentHistory(of: Unique.room(), limit: 10), [], "empty room")
        },
        ContractCase("a delivered message is already in recent history") { fixture in
            let broker = try await fixture.makeBroker()
            let room = Unique.room()
            let seen = Collector()
            let subscription = try await broker.subscribe(to: room) { message in
                // Read history right behind the delivery; the message must be there.
                Task {
                    let recent = (try? await broker.recentHistory(of: room, limit: 5)) ?? []
                    seen.add(recent.contains(message) ? message : draft(room, "missing").published(at: MessagePosition(epoch: message.epoch, seq: -message.seq)))
                }
            }
            for index in 1...5 { _ = try await broker.publish(draft(room, "m\(index)")) }
            try await seen.wait(for: 5)
            try expect(seen.messages.allSatisfy { $0.seq > 0 }, "every delivered message was in history: \(seen.messages.map(\.seq))")
            await subscription.cancel()
        },
        ContractCase("an encoded subscription hands on each message as the one writer's bytes, in order") { fixture in
            let room = Unique.room()
            let publisher = try await fixture.makeBroker()
            let encoded = Mutex<[EncodedChatMessage]>([])
            let subscription = try await fixture.makeBroker().subscribeEncoded(to: room) { message in encoded.withLock { $0.append(message) } }
            var published: [ChatMessage] = []
            for index in 1...20 {
                let text = index.isMultiple(of: 2) ? "m\(index) \"quoted\" \\ \n Zoë 🎉" : "m\(index)"
                published.append(try await publisher.publish(draft(room, text)).message)
            }
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while encoded.withLock({ $0.count }) < published.count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            let received = encoded.withLock { $0 }
            try expectEqual(received.map(\.position), published.map(\.position), "positions, in order")
            try expect(received.allSatisfy { $0.room == room }, "the room")
            try expect(
                zip(received, published).allSatisfy { $0.bytes == EncodedChatMessage($1).bytes },
                "every payload is the bytes ChatMessageJSON writes for the published message"
            )
            await subscription.cancel()
        },
    ] + MessageBrokerEpochContract.cases

    static func draft(_ room: RoomID, _ text: String) -> MessageDraft {
        MessageDraft(room: room, user: UserName(trusted: "tester"), text: text, timestamp: 1_732_860_000_000)
    }
}

/// Collects delivered messages across threads and waits, with a deadline, for a count.
final class Collector: Sendable {
    private let state = Mutex<[ChatMessage]>([])

    var messages: [ChatMessage] { state.withLock { $0 } }

    func add(_ message: ChatMessage) {
        state.withLock { $0.append(message) }
    }

    func wait(for count: Int, within seconds: Int = 10) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        while messages.count < count {
            guard ContinuousClock.now < deadline else {
                throw ContractViolation(message: "expected \(count) messages, got \(messages.count)", location: "Collector.wait")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
