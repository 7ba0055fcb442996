import Foundation
import Testing

/// `--log-format json` (docs/operations.md, "Logs"): one object per line, refusals once with
/// their reason and the request's id, credentials never.
@Suite(.timeLimit(.minutes(2)))
struct LogFormatTests {
    @Test func jsonLogsAreOneObjectPerLineAndARefusalIsLoggedOnceWithItsReasonAndRequestID() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--log-format", "json"])
        let port = try await chatd.listeningPort()
        let secret = "not-a-token-but-secret-0123456789"
        let refused = try await LoopbackHTTP.request(.GET, port: port, "/v1/chatrooms/1/join?user=Ann&access_token=\(secret)")
        #expect(refused.status == 401)
        let refusal = try await eventually("a refusal in the log:\n\(chatd.output)") {
            Self.lines(of: chatd.output).first { $0["message"] as? String == "refused" }
        }
        let metadata = refusal["metadata"] as? [String: Any]
        #expect(metadata?["reason"] as? String == "authentication")
        #expect((metadata?["request"] as? String)?.isEmpty == false, "the request's id")
        #expect(refusal["level"] as? String == "notice" && refusal["label"] as? String == "chatd" && refusal["time"] is String)
        kill(chatd.process.processIdentifier, SIGTERM)
        #expect(try await chatd.waitForExit() == 0)
        let output = chatd.output
        let lines = output.split(separator: "\n")
        #expect(!lines.isEmpty && Self.lines(of: output).count == lines.count, "every line is one JSON object:\n\(output)")
        #expect(Self.lines(of: output).filter { $0["message"] as? String == "refused" }.count == 1, "logged once")
        #expect(!output.contains(secret), "the access token is never logged")
    }

    static func lines(of output: String) -> [[String: Any]] {
        output.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
    }
}
