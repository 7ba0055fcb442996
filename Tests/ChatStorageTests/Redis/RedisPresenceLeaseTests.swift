import ChatCore
import ChatStorage
import Testing

/// The lease: a server that stops refreshing without a goodbye has its users removed by the
/// survivors' sweeps within the bound. On the plain Redis these tests run in database 1 so that
/// their sweepers cannot reap the servers the contract cases invent (nobody renews those); on
/// the one-node cluster (database 0 only) those are listed with the contract store's default
/// lease, longer than a case takes.
@Suite(.serialized) struct RedisPresenceLeaseTests {
    @Test(arguments: RedisTarget.allCases)
    func survivorsReapTheUsersOfAServerWhoseLeaseExpired(_ target: RedisTarget) async throws {
        let configuration = try target.configuration(database: 1)
        let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
        // Short, yet long enough that a loaded machine still refreshes in time.
        let short = RedisPresenceSettings(lease: .milliseconds(1_500), sweepInterval: .milliseconds(300))
        let doomed = RedisPresenceStore(client: client, server: .random(), settings: short, logger: TestRedis.logger)
        let survivor = RedisPresenceStore(client: client, server: .random(), settings: short, logger: TestRedis.logger)
        try await doomed.start()
        try await survivor.start()
        let room = uniqueRoom()
        let gone = UserName(trusted: "gone")
        let stays = UserName(trusted: "stays")
        try await doomed.enter(gone, room: room, connection: ConnectionID(server: doomed.server, number: 1))
        try await survivor.enter(stays, room: room, connection: ConnectionID(server: survivor.server, number: 1))

        // Several lease periods pass while both refresh: nobody is reaped.
        try await Task.sleep(for: .seconds(3))
        #expect(try await survivor.users(in: room) == [gone, stays])

        doomed.stop()  // no goodbye: to everyone else it simply died
        // Reaped by the survivor's sweep. The wait allows for a busy machine (tests run beside
        // the conformance suite); it asserts that reaping happens, not how fast.
        let reaped = try await eventually(within: short.reapBound + .seconds(10)) {
            try await survivor.users(in: room) == [stays]
        }
        #expect(reaped, "the dead server's user vanished")

        survivor.stop()
        try await survivor.reap(server: survivor.server)
        await client.shutdown()
    }

    @Test(arguments: RedisTarget.allCases)
    func aLiveServerIsNotReapedAndAGoodbyeRemovesAtOnce(_ target: RedisTarget) async throws {
        let configuration = try target.configuration(database: 1)
        let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
        let settings = RedisPresenceSettings(lease: .seconds(5), sweepInterval: .seconds(5))
        let leaving = RedisPresenceStore(client: client, server: .random(), settings: settings, logger: TestRedis.logger)
        let sweeper = RedisPresenceStore(client: client, server: .random(), settings: settings, logger: TestRedis.logger)
        try await leaving.start()
        let room = uniqueRoom()
        let user = UserName(trusted: "polite")
        try await leaving.enter(user, room: room, connection: ConnectionID(server: leaving.server, number: 7))
        #expect(try await sweeper.sweep().contains(leaving.server) == false, "a held lease protects")
        #expect(try await sweeper.users(in: room) == [user])
        await leaving.shutdown()
        #expect(try await sweeper.users(in: room) == [])
        await client.shutdown()
    }

    @Test(arguments: RedisTarget.allCases)
    func aServerReapedWhileAliveAnnouncesItsConnectionsAgain(_ target: RedisTarget) async throws {
        let configuration = try target.configuration(database: 1)
        let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
        let settings = RedisPresenceSettings(lease: .milliseconds(600), sweepInterval: .seconds(60))
        let store = RedisPresenceStore(client: client, server: .random(), settings: settings, logger: TestRedis.logger)
        try await store.start()
        let room = uniqueRoom()
        let user = UserName(trusted: "cut-off")
        try await store.enter(user, room: room, connection: ConnectionID(server: store.server, number: 1))
        // What survivors do to a server whose lease ran out while it was cut off from Redis:
        // it is no longer listed in the room's partition, so its next refresh there finds that.
        try await store.reap(server: store.server)
        let back = try await eventually(within: .seconds(3)) { try await store.users(in: room) == [user] }
        #expect(back, "the next refresh found the lease gone and announced the connection again")
        await store.shutdown()
        #expect(try await store.users(in: room) == [])
        await client.shutdown()
    }

    @Test func theDefaultBoundIsWithinThirtySeconds() {
        #expect(RedisPresenceSettings().reapBound <= .seconds(30))
    }
}
