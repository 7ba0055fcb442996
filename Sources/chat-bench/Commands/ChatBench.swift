import ArgumentParser

/// `chat-bench`: a load generator that speaks only the seed API (HTTP setup, WebSocket join,
/// one text frame per message), so it can measure chatd or any other server that speaks it.
@main
struct ChatBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-bench",
        abstract: "Measure a chat server that speaks the seed API over real sockets.",
        subcommands: [FanoutCommand.self, ConnectionsCommand.self, JoinStormCommand.self, DeflateCommand.self, CrossServerCommand.self]
    )
}
