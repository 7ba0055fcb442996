import Foundation
import Testing

/// `chat-bench chaos` on its own: a short run against one chatd without faults reports every
/// figure, every post acknowledged and received by every member of its room, nothing twice.
/// (The faults are ChaosDrillTests'.)
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ChatBenchChaosTests {
    @Test func aQuietRunAcknowledgesAndDeliversEveryPostOnce() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0"])
        let port = try await chatd.listeningPort()
        let acks = FileManager.default.temporaryDirectory.appendingPathComponent("chaos-acks-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: acks) }
        let json = try await ChatBenchTests.chatBench([
            "chaos", "--url", "http://127.0.0.1:\(port)", "--rooms", "2", "--members", "3", "--rate", "5", "--duration", "2",
            "--settle", "20", "--acks-file", acks.path,
        ])
        try await ChatBenchTests.stop(chatd)
        let sent = try #require(json["posts_sent"] as? Int)
        #expect(sent > 0)
        #expect(json["posts_acknowledged"] as? Int == sent)
        #expect(json["settled"] as? Bool == true)
        for figure in [
            "posts_unacknowledged", "posts_refused", "acknowledged_missing_at_members", "duplicate_positions", "duplicate_post_ids",
            "ack_conflicts", "unparsed_frames", "foreign_messages", "drops", "reconnects", "resumes_not_recovered", "resumes_across_epochs",
        ] {
            #expect(json[figure] as? Int == 0, "\(figure) in \(json)")
        }
        #expect(json["epochs_seen"] as? Int == 2, "one epoch per room")
        let written = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: acks)) as? [[String: Any]])
        #expect(written.count == sent, "every acknowledged post in --acks-file")
        #expect(Set(written.compactMap { $0["id"] as? String }).count == sent)
    }

    @Test func badArgumentsAreRefusedWithAMessage() async throws {
        let (status, _, errors) = try await ChatBenchTests.runChatBench(["chaos", "--url", "http://127.0.0.1:1", "--rate", "0"])
        #expect(status != 0)
        #expect(errors.contains("--rate"), "\(errors)")
    }
}
