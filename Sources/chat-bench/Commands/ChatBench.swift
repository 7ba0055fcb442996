import ArgumentParser

/// `chat-bench`: a load generator that speaks the seed API (HTTP setup, WebSocket join,
/// one text frame per message), so it can measure chatd or any other server that speaks it;
/// `chaos` speaks chatd's opt-in protocol chat.v2.
@main
struct ChatBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-bench",
        abstract: "Measure a chat server that speaks the seed API over real sockets.",
        subcommands: [
            FanoutCommand.self, ConnectionsCommand.self, JoinStormCommand.self, DeflateCommand.self, CrossServerCommand.self, ChaosCommand.self,
            RoomsCommand.self,
        ]
    )
}
