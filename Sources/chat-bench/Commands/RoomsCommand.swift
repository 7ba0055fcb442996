import ArgumentParser
import Foundation

/// `chat-bench rooms`: many rooms, each with its own publisher, spread over several servers:
/// deliveries/s, latency, lost, duplicated, out of order, subscriptions per server, Redis CPU
/// and what the join of a new room costs (issue 12); at low rates, latency and CPU per
/// delivery where the flush window batches nothing (issue 15).
struct RoomsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rooms",
        abstract: "R rooms x M members, one publisher per room, over several servers: deliveries, latency, losses, subscriptions per server, CPU.",
        discussion: """
            Member m of room r joins --url number (r + m) mod U (U = how many --url): the members of a room are placed round-robin \
            over the servers, so each room spans min(M, U) servers and the rooms' publishers (member 0) are spread over them too. \
            Users and rooms are created over HTTP on the first --url (with tokens where the server gives them). \
            Joins come in two rounds: first each room's first member on each server (that join makes the server subscribe to the room), \
            then the rest; every member posts a join probe once joined and times its echo from before its TCP connect, \
            so the report shows a first join on a server next to a later one (under the load of --connect-concurrency joins in flight; \
            after the run, --join-samples rooms per server of their own are joined one member at a time, unloaded: join_unloaded). Publishing starts once every probe is back; \
            member 0 of room r sends at --rate-per-room (or --total-rate / R), its first message r / total rate seconds in, \
            and messages of the first --warmup seconds are neither counted nor timed. \
            With --admin-url (one per --url, in the same order) each server's chatd_connections and chatd_rooms_active are read \
            from its /metrics and set beside the rooms it has members in; with --redis-url (one per Redis node) Redis's INFO cpu \
            is read before and after; with --server-pid the servers' CPU, and then server + client CPU per delivery.
            """
    )

    @OptionGroup var server: ServerOptions

    @Option(help: "Rooms.")
    var rooms = 100

    @Option(help: "Members per room (each a WebSocket; member 0 publishes).")
    var members = 4

    @Option(help: "Messages per second into each room (fractions allowed, e.g. 0.01).")
    var ratePerRoom: Double?

    @Option(help: "Messages per second into all rooms together, instead of --rate-per-room.")
    var totalRate: Double?

    @Option(help: "Seconds of publishing before the measured window (its messages are not counted).")
    var warmup: Double = 2

    @Option(help: "Seconds of the measured window; at least 1 / rate per room, so that every room publishes in it.")
    var duration: Double = 10

    @Option(help: "Longest wait, in seconds, for the last deliveries after publishing stops (ends once all arrived).")
    var drain: Double = 10

    @Option(help: "Bytes of text per message (the JSON around it adds about 80).")
    var messageBytes = 100

    @Option(
        name: .customLong("admin-url"),
        help: "A server's admin listener, http://HOST:PORT, for its /metrics: one per --url, in the same order.")
    var adminURLs: [String] = []

    @Option(
        name: .customLong("redis-url"),
        help: "redis://[:PASSWORD@]HOST:PORT of the Redis the servers share, for its CPU (INFO cpu). Repeat for every node of a cluster.")
    var redisURLs: [String] = []

    @Option(help: "Seconds every join probe has to come back before the run fails.")
    var joinTimeout: Double = 60

    @Option(help: "After the run, rooms per server whose joins are timed one at a time, unloaded (first member on the server, then a second); 0: none.")
    var joinSamples = 10

    var perRoomRate: Double { ratePerRoom ?? (totalRate ?? 0) / Double(rooms) }

    func validate() throws {
        guard rooms >= 1, members >= 1 else { throw ValidationError("--rooms and --members must be at least 1") }
        guard (ratePerRoom == nil) != (totalRate == nil) else { throw ValidationError("give either --rate-per-room or --total-rate") }
        guard perRoomRate > 0, perRoomRate.isFinite else { throw ValidationError("the rate must be above 0") }
        guard perRoomRate <= 40 else { throw ValidationError("--rate-per-room must be at most 40 (chatd's default post rate limit is 50/s)") }
        guard joinSamples >= 0 else { throw ValidationError("--join-samples must not be negative") }
        guard warmup >= 0, drain >= 0, joinTimeout > 0 else { throw ValidationError("--warmup and --drain must not be negative, --join-timeout above 0") }
        guard duration > 0, duration * perRoomRate >= 1 else {
            throw ValidationError(
                "--duration \(format(duration)) s is shorter than one message per room at \(significant(perRoomRate))/s: every room must publish in the measured window, so give at least \(significant(1 / perRoomRate)) s"
            )
        }
        guard (40...16_000).contains(messageBytes) else { throw ValidationError("--message-bytes must be between 40 and 16000") }
        let urls = try server.endpoints().count
        guard adminURLs.isEmpty || adminURLs.count == urls else { throw ValidationError("give one --admin-url per --url (\(urls)), in the same order") }
        for url in adminURLs where URLComponents(string: url)?.scheme != "http" { throw ValidationError("--admin-url \(url): must look like http://HOST:PORT") }
        for url in redisURLs { _ = try RedisCPU(url: url) }
    }

    func run() async throws {
        try FileLimit.require(rooms * members, "members")
        let run = RoomsRun(
            endpoints: try server.endpoints(), servers: server.servers, adminURLs: adminURLs.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
            redis: RedisServers(servers: try redisURLs.map(RedisCPU.init(url:))), rooms: rooms, members: members, ratePerRoom: perRoomRate,
            warmup: warmup, duration: duration, drain: drain, messageBytes: messageBytes, joinTimeout: joinTimeout,
            connectConcurrency: server.connectConcurrency, joinSamples: joinSamples)
        try server.print(try await BenchClient.with(progress: !server.quiet) { try await run.run($0) })
    }
}
