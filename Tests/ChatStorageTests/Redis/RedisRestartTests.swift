import ChatCore
import ChatStorage
#if canImport(Glibc)
import Glibc
#endif
import ChatTestServices
import Testing

/// A real Redis restart: the server goes away (connections refused for a while, so the clients
/// back off), comes back empty, and the broker must be subscribed to every room again.
///
/// It runs on a redis-server of its own, started and stopped through the control script
/// (scripts/services/redis.sh, through ChatTestServices), so that the other tests' server
/// never goes down under them.
@Suite struct RedisRestartTests {
    @Test func theBrokerComesBackAfterARedisRestart() async throws {
        let server = OwnServer(.redis)
        try await server.start()
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.connectTimeout = .milliseconds(500)
        configuration.maximumBackoff = .milliseconds(400)
        let listener = RedisMessageBroker(configuration: configuration, metrics: MeasuredMetrics().factory, logger: TestRedis.logger)
        let publisher = RedisMessageBroker(configuration: configuration, logger: TestRedis.logger)
        let rooms = [uniqueRoom(), uniqueRoom()]
        let inboxes = rooms.map { _ in Inbox() }
        var subscriptions: [any BrokerSubscription] = []
        for (room, inbox) in zip(rooms, inboxes) {
            subscriptions.append(try await listener.subscribe(to: room) { inbox.add($0) })
        }
        for room in rooms { _ = try await publisher.publish(draft(room, "before")) }
        for inbox in inboxes { try await inbox.wait(for: 1) }

        try await server.stop()
        await #expect(throws: (any Error).self, "publishing fails while Redis is down") {
            _ = try await publisher.publish(draft(rooms[0], "lost"))
        }
        try await Task.sleep(for: .seconds(1))  // several failed reconnect attempts
        try await server.start()

        let delivered = try await eventually(within: .seconds(10)) {
            for room in rooms { _ = try? await publisher.publish(draft(room, "after")) }
            return inboxes.allSatisfy { $0.messages.contains { $0.text == "after" } }
        }
        #expect(delivered, "every room is delivered again after the restart")
        // Counted once the new connection's setup (its resubscription) has finished, which can
        // be a moment after the first message arrives through it.
        #expect(try await eventually(within: .seconds(5)) { listener.reconnects >= 1 }, "the reconnect is counted")
        for subscription in subscriptions { await subscription.cancel() }
        await listener.shutdown()
        await publisher.shutdown()
        await server.remove()
    }

    private func draft(_ room: RoomID, _ text: String) -> MessageDraft {
        MessageDraft(room: room, user: UserName(trusted: "tester"), text: text, timestamp: 1)
    }
}
