import ArgumentParser

/// `chat-bench join-storm`: N clients join a room with history at the same moment; how long
/// each waits for the last history message, and how many fail.
struct JoinStormCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join-storm",
        abstract: "N clients join one room with H messages of history at once: time to the last history message, p50/p99; errors."
    )

    @OptionGroup var server: ServerOptions

    @Option(help: "Clients that join at the same moment.")
    var clients = 1000

    @Option(help: "Messages of history the room has before the storm.")
    var history = 100

    @Option(help: "Messages per second while the history is written (below the server's per-connection rate limit).")
    var seedRate: Double = 40

    @Option(help: "Seconds every client has to get its history before it counts as an error.")
    var timeout: Double = 30

    @Flag(help: "Clients offer permessage-deflate.")
    var offerDeflate = false

    func validate() throws {
        guard clients >= 1, history >= 1 else { throw ValidationError("--clients and --history must be at least 1") }
        guard seedRate > 0, timeout > 0 else { throw ValidationError("--seed-rate and --timeout must be positive") }
    }

    func run() async throws {
        try FileLimit.require(clients, "clients")
        let run = JoinStormRun(
            endpoints: try server.endpoints(), servers: server.servers, clients: clients, history: history, seedRate: seedRate,
            timeout: timeout, offerDeflate: offerDeflate)
        try server.print(try await BenchClient.with(progress: !server.quiet) { try await run.run($0) })
    }
}
