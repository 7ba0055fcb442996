import ArgumentParser

/// `chat-bench cross-server`: `fanout` with every room's members dealt over several servers,
/// so each message crosses from its publisher's server to the others (Redis between chatd processes).
struct CrossServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cross-server",
        abstract: "fanout with members spread over several servers (--url repeated) that share one Redis."
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var load: FanoutOptions

    @Flag(help: "Members offer permessage-deflate (and inflate what comes compressed).")
    var offerDeflate = false

    func validate() throws {
        guard server.urls.count >= 2 else { throw ValidationError("cross-server needs at least two --url") }
    }

    func run() async throws {
        let run = try load.run("cross-server", on: server, offerDeflate: offerDeflate)
        try server.print(try await BenchClient.with(progress: !server.quiet) { try await run.run($0) })
    }
}
