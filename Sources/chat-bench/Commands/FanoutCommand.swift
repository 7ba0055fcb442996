import ArgumentParser

/// `chat-bench fanout`: delivery rate, latency, losses and order for R rooms x M members.
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "R rooms of M members; P of them publish at a set total rate. Reports deliveries/s, latency, lost, out of order."
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var load: FanoutOptions

    @Flag(help: "Members offer permessage-deflate (and inflate what comes compressed).")
    var offerDeflate = false

    func run() async throws {
        let run = try load.run("fanout", on: server, offerDeflate: offerDeflate)
        try server.print(try await BenchClient.with(progress: !server.quiet) { try await run.run($0) })
    }
}
