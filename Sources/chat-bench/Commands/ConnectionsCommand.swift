import ArgumentParser

/// `chat-bench connections`: N idle joined WebSockets; the server's resident memory per
/// connection (from /proc, `--server-pid`) and how long opening them all took.
struct ConnectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections",
        abstract: "N idle joined connections: server memory per connection (/proc, --server-pid) and time to open them all."
    )

    @OptionGroup var server: ServerOptions

    @Option(help: "Idle joined connections to open.")
    var connections = 1000

    @Option(help: "Rooms they are spread over.")
    var rooms = 1

    @Option(help: "Seconds to hold the connections open, idle, before memory is read.")
    var hold: Double = 5

    @Flag(help: "Members offer permessage-deflate.")
    var offerDeflate = false

    func validate() throws {
        guard connections >= 1, rooms >= 1, rooms <= connections else { throw ValidationError("need 1 <= --rooms <= --connections") }
        guard hold >= 0 else { throw ValidationError("--hold must not be negative") }
    }

    func run() async throws {
        try FileLimit.require(connections, "connections")
        let run = ConnectionsRun(
            endpoints: try server.endpoints(), servers: server.servers, connections: connections, rooms: rooms, hold: hold,
            offerDeflate: offerDeflate, connectConcurrency: server.connectConcurrency)
        try server.print(try await BenchClient.with(progress: !server.quiet) { try await run.run($0) })
    }
}
