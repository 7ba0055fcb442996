import ChatCore
@testable import ChatStorage
import Testing

/// What `BackendSelection.connect` hands chatd to stop: presence released at once, the
/// connections closed.
@Suite struct BackendLifecycleTests {
    @Test func stoppingReleasesThisServersPresenceAtOnce() async throws {
        let configuration = try TestRedis.configuration()
        let selection = try BackendSelection(redis: "redis://\(configuration.host):\(configuration.port)", mariadb: nil, elasticsearch: nil)
        let server = ServerID.random()
        let connected = try await selection.connect(server: server, logger: TestRedis.logger)
        let room = uniqueRoom()
        let user = UserName(trusted: "leaver")
        try await connected.ports.presence.enter(user, room: room, connection: ConnectionID(server: server, number: 1))
        let other = try await selection.connect(server: .random(), logger: TestRedis.logger)
        #expect(try await other.ports.presence.users(in: room) == [user])
        await connected.lifecycle.stop()
        #expect(try await other.ports.presence.users(in: room) == [], "gone at once, not after the lease")
        let admin = RedisClient(configuration: try TestRedis.configuration(), logger: TestRedis.logger)
        #expect(try await admin.command(["ZSCORE", RedisKeys.presenceServers(RedisKeys.partition(of: room)), server.rawValue]).isNull, "the lease is given back")
        await admin.shutdown()
        await other.lifecycle.stop()
    }
}
