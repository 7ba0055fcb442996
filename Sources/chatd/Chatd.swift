import ArgumentParser

/// `chatd`: the chat server. `chatd` alone serves in memory on 0.0.0.0:8080.
@main
struct Chatd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatd",
        abstract: "A horizontally scalable chat-room server (HTTP API + WebSocket rooms).",
        subcommands: [ServeCommand.self, MigrateCommand.self, WebSocketEchoCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
