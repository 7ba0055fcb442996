import ChatCore
@testable import ChatStorage
import ChatTestServices
import Testing

/// Broker behaviour beyond the contract: one order across publishers on different servers,
/// resubscription after the subscriber connection is killed, and the payload on the wire.
@Suite struct RedisBrokerTests {
    /// Redis restarted without persistence loses every room's counter and stream: numbering
    /// starts again under a new epoch, and every subscriber takes it for a reset, not a repeat.
    @Test func aLostRoomStartsANewEpochThatIsDelivered() async throws {
        let pool = BrokerPool(configuration: try TestRedis.configuration())
        let room = uniqueRoom()
        let broker = pool.make()
        let inbox = Inbox()
        let subscription = try await broker.subscribe(to: room) { inbox.add($0) }
        var before: [MessagePosition] = []
        for number in 1...5 {
            before.append(try await broker.publish(MessageDraft(room: room, user: UserName(trusted: "p"), text: "\(number)", timestamp: 1)).position)
        }
        try await inbox.wait(for: 5)
        // What a restart without persistence does to this room.
        _ = try await broker.commandClient.command(["DEL", RedisKeys.sequence(room), RedisKeys.recent(room), RedisKeys.epoch(room)])
        let after = try await broker.publish(MessageDraft(room: room, user: UserName(trusted: "p"), text: "after", timestamp: 1)).position
        #expect(after.seq == 1)
        #expect(after.epoch != before[0].epoch)
        try await inbox.wait(for: 6)
        #expect(inbox.messages.last?.text == "after", "delivered, not taken for a repeat")
        #expect(inbox.messages.last?.position == after)
        await subscription.cancel()
        await pool.shutdown()
    }

    @Test func concurrentPublishersOnTwoServersGetOneGapFreeOrder() async throws {
        let pool = BrokerPool(configuration: try TestRedis.configuration())
        let room = uniqueRoom()
        let first = pool.make()
        let second = pool.make()
        let watchers = [Inbox(), Inbox()]
        let subscriptions = [
            try await first.subscribe(to: room) { watchers[0].add($0) },
            try await second.subscribe(to: room) { watchers[1].add($0) },
        ]
        let perPublisher = 150
        let assigned = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for (index, broker) in [first, second].enumerated() {
                group.addTask {
                    // Pipelined: each publisher keeps many publishes in flight at once.
                    try await withThrowingTaskGroup(of: Int64.self) { inner in
                        for number in 0..<perPublisher {
                            inner.addTask {
                                try await broker.publish(MessageDraft(room: room, user: UserName(trusted: "p\(index)"), text: "\(number)", timestamp: 1)).message.seq
                            }
                        }
                        return try await inner.reduce(into: []) { $0.append($1) }
                    }
                }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        #expect(assigned.sorted() == Array(1...Int64(2 * perPublisher)))
        #expect(first.reconnects == 0 && second.reconnects == 0, "all pipelined on one connection each")
        for watcher in watchers {
            try await watcher.wait(for: 2 * perPublisher)
            #expect(watcher.messages.map(\.seq) == Array(1...Int64(2 * perPublisher)), "each server sees the same gap-free order")
        }
        #expect(watchers[0].messages == watchers[1].messages)
        for subscription in subscriptions { await subscription.cancel() }
        await pool.shutdown()
    }

    @Test func everyRoomIsSubscribedAgainAfterTheSubscriberConnectionIsKilled() async throws {
        let configuration = try TestRedis.configuration()
        let pool = BrokerPool(configuration: configuration)
        let listener = pool.make()
        let publisher = pool.make()
        let rooms = [uniqueRoom(), uniqueRoom(), uniqueRoom()]
        let inboxes = rooms.map { _ in Inbox() }
        var subscriptions: [any BrokerSubscription] = []
        for (room, inbox) in zip(rooms, inboxes) {
            subscriptions.append(try await listener.subscribe(to: room) { inbox.add($0) })
        }
        for room in rooms { _ = try await publisher.publish(draft(room, "before")) }
        for inbox in inboxes { try await inbox.wait(for: 1) }
        #expect(listener.reconnects == 0)

        try await killConnections(of: try #require(listener.subscriberClient), using: configuration)
        // Published around the reconnect: Pub/Sub may drop some; the broker fills them from history.
        for room in rooms {
            for index in 1...5 { _ = try await publisher.publish(draft(room, "during \(index)")) }
        }

        let resubscribed = try await eventually(within: .seconds(10)) {
            listener.reconnects >= 1 && listener.subscriberClient?.isConnected == true
        }
        #expect(resubscribed, "the subscriber reconnected by itself")
        // Publish until the new subscription carries messages again (it is live once reconnected).
        let delivered = try await eventually(within: .seconds(10)) {
            for room in rooms { _ = try await publisher.publish(draft(room, "after")) }
            return inboxes.allSatisfy { $0.messages.contains { $0.text == "after" } }
        }
        #expect(delivered, "every room is delivered again after the reconnect")
        for inbox in inboxes {
            let seqs = inbox.messages.map(\.seq)
            #expect(seqs == Array(1...Int64(seqs.count)), "every message in order, each once, none missing")
        }
        #expect(listener.measured.int("chatd_redis_missed_messages_total") == 0)
        for subscription in subscriptions { await subscription.cancel() }
        await pool.shutdown()
    }

    @Test func publishingWorksAgainAfterTheCommandConnectionIsKilled() async throws {
        let configuration = try TestRedis.configuration()
        let pool = BrokerPool(configuration: configuration)
        let broker = pool.make()
        let room = uniqueRoom()
        _ = try await broker.publish(draft(room, "one"))
        try await killConnections(of: try #require(broker.commandClient as? RedisClient), using: configuration)
        let published = try await eventually(within: .seconds(10)) {
            (try? await broker.publish(draft(room, "two"))) != nil
        }
        #expect(published)
        #expect(broker.reconnects >= 1, "counted in chatd_redis_reconnects_total")
        let history = try await broker.recentHistory(of: room, limit: 10)
        #expect(history.first?.text == "one" && history.last?.text == "two")
        #expect(history.map(\.seq) == Array(1...Int64(history.count)))
        await pool.shutdown()
    }

    @Test func historyIsCappedAndThePayloadIsTheSeedsJSON() async throws {
        let configuration = try TestRedis.configuration()
        let pool = BrokerPool(configuration: configuration)
        let broker = pool.make(recentCapacity: 5)
        let room = uniqueRoom()
        for index in 1...400 { _ = try await broker.publish(draft(room, "m\(index)")) }
        let inspector = RedisClient(configuration: configuration, logger: TestRedis.logger)
        let length = try await inspector.command(["XLEN", RedisKeys.recent(room)]).int ?? -1
        #expect(length >= 5 && length < 400, "MAXLEN ~ trims the stream (length \(length))")
        #expect(try await broker.recentHistory(of: room, limit: 3).map(\.seq) == [398, 399, 400])
        let entry = try await inspector.command(["XREVRANGE", RedisKeys.recent(room), "+", "-", "COUNT", "1"])
        let payload = entry.array?.first?.array?.last?.array?.last?.string
        let epoch = try #require(try await broker.recentHistory(of: room, limit: 1).first?.epoch.rawValue)
        #expect(payload == #"{"chatroom":\#(room.rawValue),"user":"tester","message":"m400","timestamp":1732860000000,"seq":400,"epoch":"\#(epoch)"}"#)
        await inspector.shutdown()
        await pool.shutdown()
    }

    @Test func theScriptIsLoadedAgainAfterRedisForgetsIt() async throws {
        let configuration = try TestRedis.configuration()
        let pool = BrokerPool(configuration: configuration)
        let broker = pool.make()
        let room = uniqueRoom()
        _ = try await broker.publish(draft(room, "one"))
        let admin = RedisClient(configuration: configuration, logger: TestRedis.logger)
        try await admin.command(["SCRIPT", "FLUSH"])
        #expect(try await broker.publish(draft(room, "two")).message.seq == 2, "NOSCRIPT falls back to EVAL")
        #expect(try await broker.publish(draft(room, "three")).message.seq == 3)
        await admin.shutdown()
        await pool.shutdown()
    }

    private func draft(_ room: RoomID, _ text: String) -> MessageDraft {
        MessageDraft(room: room, user: UserName(trusted: "tester"), text: text, timestamp: 1_732_860_000_000)
    }
}

/// Kills a client's connection from the server side (CLIENT KILL ADDR), as a Redis restart or
/// a network cut would, without disturbing the other tests' connections.
func killConnections(of client: RedisClient, using configuration: RedisConfiguration) async throws {
    let address = try #require(client.localAddress, "the client has a connection to kill")
    let admin = RedisClient(configuration: configuration, logger: TestRedis.logger)
    let killed = try await admin.command(["CLIENT", "KILL", "ADDR", address])
    #expect(killed.int == 1, "CLIENT KILL ADDR killed exactly that connection")
    await admin.shutdown()
}
