import ArgumentParser
import ChatStorage
import Foundation

/// The message pipeline's settings (docs/reliability.md): the post-id window and the durable
/// chat log's claim timeout.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Seconds a post's client id is remembered per user and room, so a retry is not published twice (env CHATD_POST_ID_WINDOW, default 300).")
    var postIDWindow: Int?

    @Option(help: "Seconds an entry of the durable chat log may stay unacknowledged with an indexer before another chatd claims it (with Redis and Elasticsearch; env CHATD_CHAT_LOG_CLAIM_AFTER, default 30).")
    var chatLogClaimAfter: Int?

    func apply(to selection: inout BackendSelection, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let seconds = try Self.seconds(postIDWindow, environment["CHATD_POST_ID_WINDOW"], name: "post id window", range: 1...86_400) {
            selection.postIDWindow = .seconds(seconds)
        }
        if let seconds = try Self.seconds(chatLogClaimAfter, environment["CHATD_CHAT_LOG_CLAIM_AFTER"], name: "chat log claim timeout", range: 1...3_600) {
            selection.chatLog.claimAfter = .seconds(seconds)
        }
    }

    private static func seconds(_ flag: Int?, _ variable: String?, name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text = flag.map(String.init) ?? variable else { return nil }
        guard let seconds = Int(text), range.contains(seconds) else {
            throw ValidationError("\(name) must be \(range.lowerBound) to \(range.upperBound) seconds, got '\(text)'")
        }
        return seconds
    }
}
