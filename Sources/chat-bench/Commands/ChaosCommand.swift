import ArgumentParser
import NIOCore

/// `chat-bench chaos`: members on the opt-in protocol (`chat.v2`) that must lose nothing and
/// see nothing twice while servers and backends fail around them (docs/reliability.md,
/// "The chaos drill").
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "chat.v2 members that post with ids, resend until acknowledged and resume after a drop; counts what is lost or doubled.",
        discussion: """
            Every member joins with Sec-WebSocket-Protocol: chat.v2 and posts {"type":"post","id":"USER-N","text":"chaos USER-N"} \
            at --rate. A post is kept until its ack and sent again with the same id after an unavailable or rate_limited error, \
            after --resend-after seconds without an answer, and after every reconnect. A dropped socket (or a refused join) \
            is followed, after a backoff of 0.1 s doubling up to 2 s, by a join to the next --url with since=<last seq>&epoch=<its epoch>. \
            Posting stops after --duration seconds or as soon as --stop-file exists; the members then get --settle seconds \
            to have every post acknowledged and every acknowledged post of their room received. Then it reports, among others, \
            acknowledged_missing_at_members, duplicate_positions, duplicate_post_ids and ack_conflicts, which must all be 0. \
            Unless --quiet, a line "chaos status: {...}" with running totals goes to stderr every --status-interval seconds, \
            for a driver that breaks things in turn (Tests/EndToEndTests/ChaosDrillTests.swift).
            """
    )

    @OptionGroup var server: ServerOptions

    @Option(help: "Rooms.")
    var rooms = 3

    @Option(help: "Members per room, dealt over the --url servers in turn.")
    var members = 3

    @Option(help: "Posts per second of each member.")
    var rate = 2.0

    @Option(help: "Seconds of posting at most.")
    var duration = 60.0

    @Option(help: "Posting stops as soon as this file exists.")
    var stopFile: String?

    @Option(help: "Seconds after posting stopped for every post to be acknowledged and every acknowledged one received.")
    var settle = 60.0

    @Option(help: "Seconds without an ack or error after which a post is sent again (same id).")
    var resendAfter = 5.0

    @Option(help: "Write every acknowledged post as JSON [{\"room\",\"id\",\"epoch\",\"seq\"}] to this file.")
    var acksFile: String?

    @Option(help: "Seconds between the status lines on stderr.")
    var statusInterval = 1.0

    func validate() throws {
        guard rooms >= 1, members >= 1 else { throw ValidationError("--rooms and --members must be at least 1") }
        guard rate > 0, rate <= 40 else { throw ValidationError("--rate must be above 0 and at most 40 (chatd's post rate limit is 50/s)") }
        guard duration > 0, settle >= 0, resendAfter > 0, statusInterval > 0 else {
            throw ValidationError("--duration, --resend-after and --status-interval must be above 0, --settle not negative")
        }
    }

    func run() async throws {
        let settings = ChaosMember.Settings(rate: rate, resendAfter: .nanoseconds(Int64(resendAfter * 1e9)))
        let run = ChaosRun(
            endpoints: try server.endpoints(), rooms: rooms, members: members, settings: settings, duration: duration,
            stopFile: stopFile, settle: settle, acksFile: acksFile, statusInterval: statusInterval)
        try server.print(try await BenchClient.with(progress: !server.quiet) { try await run.run($0) })
    }
}
