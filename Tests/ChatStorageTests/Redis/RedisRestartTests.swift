import ChatCore
import ChatStorage
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// A real Redis restart: the server goes away (connections refused for a while, so the clients
/// back off), comes back empty, and the broker must be subscribed to every room again.
///
/// It runs on a redis-server of its own, started and stopped through the control script
/// (`CHAT_TEST_REDIS_CONTROL`, scripts/services/redis.sh), so that the other tests' server
/// never goes down under them.
@Suite struct RedisRestartTests {
    @Test func theBrokerComesBackAfterARedisRestart() async throws {
        let server = try OwnRedis()
        try server.run("start")
        defer { try? server.run("stop") }
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.connectTimeout = .milliseconds(500)
        configuration.maximumBackoff = .milliseconds(400)
        let listener = RedisMessageBroker(configuration: configuration, logger: TestRedis.logger)
        let publisher = RedisMessageBroker(configuration: configuration, logger: TestRedis.logger)
        let rooms = [uniqueRoom(), uniqueRoom()]
        let inboxes = rooms.map { _ in Inbox() }
        var subscriptions: [any BrokerSubscription] = []
        for (room, inbox) in zip(rooms, inboxes) {
            subscriptions.append(try await listener.subscribe(to: room) { inbox.add($0) })
        }
        for room in rooms { _ = try await publisher.publish(draft(room, "before")) }
        for inbox in inboxes { try await inbox.wait(for: 1) }

        try server.run("stop")
        await #expect(throws: (any Error).self, "publishing fails while Redis is down") {
            _ = try await publisher.publish(draft(rooms[0], "lost"))
        }
        try await Task.sleep(for: .seconds(1))  // several failed reconnect attempts
        try server.run("start")

        let delivered = try await eventually(within: .seconds(10)) {
            for room in rooms { _ = try? await publisher.publish(draft(room, "after")) }
            return inboxes.allSatisfy { $0.messages.contains { $0.text == "after" } }
        }
        #expect(delivered, "every room is delivered again after the restart")
        #expect(listener.subscriberClient.connectionsOpened >= 2)
        for subscription in subscriptions { await subscription.cancel() }
        await listener.shutdown()
        await publisher.shutdown()
    }

    private func draft(_ room: RoomID, _ text: String) -> MessageDraft {
        MessageDraft(room: room, user: UserName(trusted: "tester"), text: text, timestamp: 1)
    }
}

/// A redis-server for one test on a port of its own, driven by the control script.
struct OwnRedis {
    static let variable = "CHAT_TEST_REDIS_CONTROL"
    let script: String
    let directory: String
    let port = Int.random(in: 20_000...29_999)

    init() throws {
        guard let value = getenv(Self.variable), case let script = String(cString: value), !script.isEmpty else {
            throw Missing()
        }
        self.script = script
        self.directory = "/tmp/chat-redis-test-\(port)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Runs `script subcommand DIR` and waits for it. Spawned with posix_spawn and an empty
    /// signal mask: the test process blocks SIGTERM on its threads, and a redis-server that
    /// inherited that mask could not be stopped by its pid.
    func run(_ subcommand: String) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environment: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if !text.hasPrefix("REDIS_PORT=") { environment.append(text) }
            entry += 1
        }
        environment.append("REDIS_PORT=\(port)")
        let argv: [UnsafeMutablePointer<CChar>?] = [script, subcommand, directory].map { (text: String) in strdup(text) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { (text: String) in strdup(text) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, script, nil, &attributes, argv, envp)
        guard spawned == 0 else { throw Failed(description: "cannot run \(script): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        guard exited, (status >> 8) & 0xff == 0 else {
            throw Failed(description: "\(script) \(subcommand) \(directory) failed (wait status \(status))")
        }
    }

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "\(OwnRedis.variable) is not set: the restart test starts and stops a redis-server of its own through it. Run scripts/test.sh, which sets \(OwnRedis.variable)=scripts/services/redis.sh"
        }
    }
}
