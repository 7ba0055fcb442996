import Foundation
import Testing

/// `chat-bench` against a spawned chatd: a short `fanout` run must print every figure as JSON and
/// lose nothing nor reorder anything. A correctness check, not a timing one.
@Suite(.timeLimit(.minutes(2)))
struct ChatBenchTests {
    @Test func fanoutReportsEveryFigureAndLosesNothing() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--message-rate", "0"])
        let port = try await chatd.listeningPort()

        let (status, output, errors) = try await Self.runChatBench([
            "fanout", "--url", "http://127.0.0.1:\(port)", "--rooms", "1", "--members", "20",
            "--publishers", "2", "--rate", "50", "--duration", "2", "--json",
        ])
        #expect(status == 0, "chat-bench failed: \(errors)")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "not one JSON object: \(output)")

        for field in [
            "deliveries_per_second", "messages_published", "expected_deliveries", "deliveries", "lost", "out_of_order",
            "latency_ms", "client",
        ] {
            #expect(json[field] != nil, "missing \(field) in \(output)")
        }
        let latency = try #require(json["latency_ms"] as? [String: Any])
        for field in ["p50", "p99", "p99.9", "max"] { #expect(latency[field] is Double, "missing latency_ms.\(field)") }
        let client = try #require(json["client"] as? [String: Any])
        #expect(client["cpu_seconds"] is Double)

        let published = try #require(json["messages_published"] as? Int)
        #expect(published > 0)
        #expect(json["expected_deliveries"] as? Int == published * 20, "every message reaches all 20 members")
        #expect(json["deliveries"] as? Int == published * 20)
        #expect(json["lost"] as? Int == 0)
        #expect(json["out_of_order"] as? Int == 0)
        chatd.process.terminate()
        _ = try await chatd.waitForExit()
    }

    /// Runs the chat-bench binary from this test's build folder; returns its status, stdout and stderr.
    static func runChatBench(_ arguments: [String]) async throws -> (Int32, String, String) {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stdoutFile = directory.appendingPathComponent("stdout")
        let stderrFile = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        let process = Process()
        process.executableURL = folder.appendingPathComponent("chat-bench")
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let status = try await eventually("chat-bench did not exit", timeout: .seconds(60)) {
            process.isRunning ? nil : process.terminationStatus
        }
        let output = (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
        return (status, output, errors)
    }
}
