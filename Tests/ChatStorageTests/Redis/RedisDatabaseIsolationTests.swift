import ChatCore
import ChatStorage
import Synchronization
import Testing

/// Two deployments on two databases of one Redis: Pub/Sub ignores SELECT, so without their
/// database in the channel names each would hear the other's rooms (RedisKeys.channelNamespace).
@Suite struct RedisDatabaseIsolationTests {
    @Test func aRoomOnAnotherDatabaseIsNotHeard() async throws {
        let first = BrokerPool(configuration: try TestRedis.configuration(database: 5))
        let second = BrokerPool(configuration: try TestRedis.configuration(database: 6))
        let room = uniqueRoom()
        let heardByFirst = Inbox()
        let heardBySecond = Inbox()
        let subscriptions = [
            try await first.make().subscribe(to: room) { heardByFirst.add($0) },
            try await second.make().subscribe(to: room) { heardBySecond.add($0) },
        ]
        let mine = try await first.make().publish(MessageDraft(room: room, user: UserName(trusted: "Ann"), text: "database 5", timestamp: 1))
        try await heardByFirst.wait(for: 1)
        // The second deployment's own message comes after the first's on the one Redis: once it
        // is here, the first's would have been too, had it crossed over.
        let theirs = try await second.make().publish(MessageDraft(room: room, user: UserName(trusted: "Bob"), text: "database 6", timestamp: 2))
        try await heardBySecond.wait(for: 1)
        #expect(heardByFirst.messages == [mine.message])
        #expect(heardBySecond.messages == [theirs.message])
        for subscription in subscriptions { await subscription.cancel() }
        await first.shutdown()
        await second.shutdown()
    }

    @Test func presenceOnAnotherDatabaseIsNotHeard() async throws {
        let clients = [
            RedisClient(configuration: try TestRedis.configuration(database: 5), logger: TestRedis.logger),
            RedisClient(configuration: try TestRedis.configuration(database: 6), logger: TestRedis.logger),
        ]
        let stores = clients.enumerated().map { index, client in
            RedisPresenceStore(client: client, server: ServerID(rawValue: "isolation-\(index)"), logger: TestRedis.logger)
        }
        let room = uniqueRoom()
        let heard = [Heard(), Heard()]
        var watches: [any BrokerSubscription] = []
        for (index, store) in stores.enumerated() {
            let log = heard[index]
            watches.append(try await store.watch(room) { event in log.names.withLock { $0.append(event.user.rawValue) } })
        }
        try await stores[0].enter(UserName(trusted: "Ann"), room: room, connection: ConnectionID(server: ServerID(rawValue: "isolation-0"), number: 1))
        try await waitUntil { heard[0].names.withLock { $0 } == ["Ann"] }
        try await stores[1].enter(UserName(trusted: "Bob"), room: room, connection: ConnectionID(server: ServerID(rawValue: "isolation-1"), number: 1))
        try await waitUntil { heard[1].names.withLock { !$0.isEmpty } }
        #expect(heard[0].names.withLock { $0 } == ["Ann"])
        #expect(heard[1].names.withLock { $0 } == ["Bob"])
        for watch in watches { await watch.cancel() }
        for store in stores { await store.shutdown() }
        for client in clients { await client.shutdown() }
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while !condition() {
            if ContinuousClock.now >= deadline { Issue.record("condition not met within 10 s"); return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The users one watch heard, in order.
private final class Heard: Sendable {
    let names = Mutex<[String]>([])
}
