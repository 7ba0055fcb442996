import ChatCore
import ChatStorage
import ChatTestServices
import Testing

/// Presence's lease maintenance is counted when it fails (`chatd_presence_maintenance_failures_total`,
/// docs/operations.md), so an operator sees that this server's lease may lapse.
@Suite(.timeLimit(.minutes(1)))
struct RedisPresenceMetricsTests {
    @Test func leaseRefreshesThatFailWhileRedisIsDownAreCounted() async throws {
        let server = OwnServer(.redis)
        try await server.start()
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.connectTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
        let metrics = MeasuredMetrics()
        let settings = RedisPresenceSettings(lease: .milliseconds(900), sweepInterval: .milliseconds(300))
        let store = RedisPresenceStore(client: client, server: .random(), settings: settings, metrics: metrics.factory, logger: TestRedis.logger)
        try await store.start()
        let failing = "chatd_presence_maintenance_failures_total"
        // Refreshes and sweeps run while Redis is up: none fails.
        try await Task.sleep(for: .seconds(1))
        #expect(metrics.int(failing) == 0)

        try await server.stop()
        let counted = try await eventually(within: .seconds(10)) { metrics.int(failing) >= 1 }
        #expect(counted, "a refresh or sweep failed and was counted")
        store.stop()
        await client.shutdown()
        await server.remove()
    }
}
