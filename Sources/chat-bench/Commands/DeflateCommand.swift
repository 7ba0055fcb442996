import ArgumentParser

/// `chat-bench deflate`: the same fanout twice, members first not offering permessage-deflate,
/// then offering it; the server's CPU per million deliveries of each, and their ratio.
struct DeflateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deflate",
        abstract: "fanout without and with permessage-deflate offered; server CPU (/proc, --server-pid) per million deliveries of each."
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var load: FanoutOptions

    func validate() throws {
        guard !server.serverPIDs.isEmpty else { throw ValidationError("deflate compares server CPU: give the server's --server-pid") }
    }

    func run() async throws {
        let plainRun = try load.run("deflate", on: server, offerDeflate: false)
        let deflateRun = try load.run("deflate", on: server, offerDeflate: true)
        // A fresh client per half, so neither inherits the other's counts.
        let plain = try await BenchClient.with(progress: !server.quiet) { try await plainRun.run($0) }
        let deflate = try await BenchClient.with(progress: !server.quiet) { try await deflateRun.run($0) }
        try server.print(DeflateReport(plain: plain, deflate: deflate))
    }
}
