import ChatCore
import ChatTestServices
import Foundation
import Testing

@testable import ChatStorage

/// A master of a cluster of the test's own is SIGKILLed while two brokers (two servers) carry a
/// room on it; its replica takes over and the room goes on, on the same client objects.
@Suite(.timeLimit(.minutes(2)))
struct RedisClusterFailoverTests {
    @Test
    func aRoomsMasterDiesAndItsReplicaTakesOver() async throws {
        try await OwnCluster.run { cluster in try await Self.failover(on: cluster) }
    }

    private static func failover(on cluster: OwnCluster) async throws {
        var configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: cluster.url))
        configuration.connectTimeout = .milliseconds(500)
        configuration.clusterMapRefreshInterval = .seconds(1)
        let pool = BrokerPool(configuration: configuration)
        let (first, second) = (pool.make(), pool.make())
        let room = uniqueRoom()
        let inboxes = [Inbox(), Inbox()]
        var subscriptions: [any BrokerSubscription] = []
        for (broker, inbox) in zip([first, second], inboxes) {
            subscriptions.append(try await broker.subscribe(to: room) { inbox.add($0) })
        }
        func draft(_ text: String) -> MessageDraft {
            MessageDraft(room: room, user: UserName(trusted: "tester"), text: text, timestamp: 1_732_860_000_000)
        }
        do {
            _ = try await first.publish(draft("before"))
            for inbox in inboxes { try await inbox.wait(for: 1) }

            let admin = RedisClusterClient(configuration: configuration, logger: TestRedis.logger)
            let slot = RedisClusterSlot.of(RedisKeys.sequence(room))
            let victim = try #require(try await admin.refreshMap().master(of: slot))
            try cluster.kill(victim.port)
            let promoted = try await eventually(within: .seconds(30)) {
                guard let map = try? await admin.refreshMap(), map.coversEverySlot, let master = map.master(of: slot) else { return false }
                return master != victim
            }
            #expect(promoted, "a replica took over slot \(slot)")
            await admin.shutdown()

            // The same brokers go on: the command client finds the new master, the subscribers
            // subscribe the room there again.
            let published = try await eventually(within: .seconds(20)) {
                (try? await second.publish(draft("after"))) != nil
            }
            #expect(published, "publishing works again after the failover")
            let delivered = try await eventually(within: .seconds(20)) {
                if inboxes.allSatisfy({ $0.messages.contains { $0.text == "after" } }) { return true }
                _ = try? await second.publish(draft("after"))
                return false
            }
            #expect(delivered, "both servers' subscriptions carry the room again")
            for inbox in inboxes {
                let positions = inbox.messages.map(\.position)
                #expect(Set(positions).count == positions.count, "nothing delivered twice")
            }
        } catch {
            Issue.record("\(error)")
        }
        for subscription in subscriptions { await subscription.cancel() }
        await pool.shutdown()
    }
}
