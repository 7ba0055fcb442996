import ChatTestServices
import Foundation
import Testing

/// `chat-bench` against spawned chatd processes: a short run of every scenario must print
/// every figure as one JSON object, and `fanout` must lose nothing nor reorder anything.
/// Correctness checks, not timing ones: no figure of speed is asserted.
/// Serialized: each test runs chatd and chat-bench processes with hundreds of sockets, and
/// side by side they starved the rest of the suite on a 2-core machine.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ChatBenchTests {
    @Test func fanoutReportsEveryFigureAndLosesNothing() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--message-rate", "0"])
        let port = try await chatd.listeningPort()
        let json = try await Self.chatBench([
            "fanout", "--url", "http://127.0.0.1:\(port)", "--server-pid", "\(chatd.process.processIdentifier)",
            "--rooms", "2", "--members", "10", "--publishers", "2", "--rate", "50", "--duration", "2",
        ])
        try Self.expectCompleteFanout(json, members: 10)
        let server = try #require(json["server"] as? [String: Any])
        #expect((server["cpu_seconds"] as? Double ?? 0) > 0, "chatd's CPU is read from /proc")
        #expect(server["cpu_user_seconds"] is Double && server["cpu_system_seconds"] is Double)
        let machine = try #require(json["server_plus_client"] as? [String: Any], "the whole-machine figure")
        for field in ["user_us_per_delivery", "system_us_per_delivery", "total_us_per_delivery", "server_user_us_per_delivery"] {
            #expect(machine[field] is Double, "server_plus_client.\(field) in \(machine)")
        }
        #expect((machine["total_us_per_delivery"] as? Double ?? 0) > 0)
        #expect(json["compressed_frames"] as? Int == 0, "nothing offered deflate")
        try await Self.stop(chatd)
    }

    @Test func deflateComparesBothHalvesAndTheSecondIsCompressed() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--message-rate", "0"])
        let port = try await chatd.listeningPort()
        let json = try await Self.chatBench([
            "deflate", "--url", "http://127.0.0.1:\(port)", "--server-pid", "\(chatd.process.processIdentifier)",
            "--members", "10", "--publishers", "2", "--rate", "50", "--duration", "1",
        ])
        let plain = try #require(json["plain"] as? [String: Any])
        let deflate = try #require(json["deflate"] as? [String: Any])
        try Self.expectCompleteFanout(plain, members: 10)
        try Self.expectCompleteFanout(deflate, members: 10)
        #expect(plain["compressed_frames"] as? Int == 0)
        #expect(deflate["compressed_frames"] as? Int == deflate["deliveries"] as? Int, "every 180-byte message came compressed and inflated")
        #expect((json["server_cpu_ratio"] as? Double ?? 0) > 0)
        try await Self.stop(chatd)
    }

    @Test func connectionsReadsTheServersMemory() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0"])
        let port = try await chatd.listeningPort()
        let json = try await Self.chatBench([
            "connections", "--url", "http://127.0.0.1:\(port)", "--server-pid", "\(chatd.process.processIdentifier)",
            "--connections", "200", "--rooms", "2", "--hold", "0.5",
        ])
        #expect(json["opened"] as? Int == 200)
        #expect(json["errors"] as? Int == 0)
        #expect(json["seconds_to_open"] is Double)
        let server = try #require(json["server"] as? [String: Any])
        #expect((server["rss_bytes_after"] as? Int ?? 0) > 0)
        #expect(server["bytes_per_connection"] is Double)
        try await Self.stop(chatd)
    }

    @Test func joinStormGetsEveryClientTheWholeHistory() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0"])
        let port = try await chatd.listeningPort()
        let json = try await Self.chatBench([
            "join-storm", "--url", "http://127.0.0.1:\(port)", "--clients", "50", "--history", "20", "--seed-rate", "40",
            "--server-pid", "\(chatd.process.processIdentifier)",
        ])
        #expect(json["histories_complete"] as? Int == 50)
        #expect(json["errors"] as? Int == 0)
        let joinMs = try #require(json["join_ms"] as? [String: Any])
        for field in ["p50", "p99", "max"] { #expect(joinMs[field] is Double, "missing join_ms.\(field)") }
        #expect(joinMs["count"] as? Int == 50)
        let machine = try #require(json["server_plus_client"] as? [String: Any], "the whole-machine figure")
        #expect(machine["deliveries"] as? Int == 50 * 20, "the storm's deliveries: every client's 20 history messages")
        #expect(machine["total_us_per_delivery"] is Double)
        try await Self.stop(chatd)
    }

    @Test func crossServerDeliversEverythingAcrossTwoChatdProcesses() async throws {
        // A Redis server of its own: Pub/Sub channels (`chatroom:{id}`) are shared by every
        // database of a Redis server, so another test's room 1 would talk into this one's.
        let redis = OwnServer(.redis)
        try await redis.start()
        let backends = try await SharedBackends.make(redisDatabase: 9)
        do {
            let migrate = try ChatdProcess(["migrate", "--mariadb", backends.mariadbURL])
            #expect(try await migrate.waitForExit() == 0, "chatd migrate: \(migrate.output)")
            let flags = ["--host", "127.0.0.1", "--port", "0", "--message-rate", "0", "--redis", redis.url, "--mariadb", backends.mariadbURL]
            let first = try ChatdProcess(flags)
            let second = try ChatdProcess(flags)
            let (one, two) = (try await first.listeningPort(), try await second.listeningPort())
            let json = try await Self.chatBench([
                "cross-server", "--url", "http://127.0.0.1:\(one)", "--url", "http://127.0.0.1:\(two)",
                "--members", "10", "--publishers", "2", "--rate", "50", "--duration", "2",
            ])
            try Self.expectCompleteFanout(json, members: 10)
            #expect((json["urls"] as? [String])?.count == 2)
            try await Self.stop(first)
            try await Self.stop(second)
            await backends.drop()
            try await redis.stop()
        } catch {
            await backends.drop()
            try? await redis.stop()
            throw error
        }
    }

    @Test func badArgumentsAreRefusedWithAMessage() async throws {
        let (status, _, errors) = try await Self.runChatBench(["deflate", "--url", "http://127.0.0.1:1"])
        #expect(status != 0)
        #expect(errors.contains("--server-pid"), "deflate needs the server's pid: \(errors)")
        let (badURL, _, urlErrors) = try await Self.runChatBench(["fanout", "--url", "ws://nowhere"])
        #expect(badURL != 0 && urlErrors.contains("http://HOST:PORT"), "\(urlErrors)")
    }

    // MARK: helpers

    /// Every figure of a fanout run present; nothing lost, nothing out of order, nothing unparsed.
    static func expectCompleteFanout(_ json: [String: Any], members: Int) throws {
        for field in [
            "deliveries_per_second", "messages_published", "expected_deliveries", "deliveries", "lost", "out_of_order", "latency_ms", "client",
        ] {
            #expect(json[field] != nil, "missing \(field) in \(json)")
        }
        let latency = try #require(json["latency_ms"] as? [String: Any])
        for field in ["p50", "p99", "p99.9", "max"] { #expect(latency[field] is Double, "missing latency_ms.\(field)") }
        let client = try #require(json["client"] as? [String: Any])
        #expect(client["cpu_seconds"] is Double)
        let published = try #require(json["messages_published"] as? Int)
        #expect(published > 0)
        #expect(json["expected_deliveries"] as? Int == published * members, "every message reaches all \(members) members of its room")
        #expect(json["deliveries"] as? Int == published * members)
        #expect(json["lost"] as? Int == 0)
        #expect(json["out_of_order"] as? Int == 0)
        #expect(json["unparsed_frames"] as? Int == 0)
    }

    /// Runs chat-bench with `--json --quiet` and returns its one JSON object.
    static func chatBench(_ arguments: [String]) async throws -> [String: Any] {
        let (status, output, errors) = try await runChatBench(arguments + ["--json", "--quiet"])
        #expect(status == 0, "chat-bench \(arguments.first ?? "") failed: \(errors)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "not one JSON object: \(output) \(errors)")
    }

    static func stop(_ chatd: ChatdProcess) async throws {
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
        let status = try await eventually("chat-bench did not exit", timeout: .seconds(90)) {
            process.isRunning ? nil : process.terminationStatus
        }
        let output = (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
        return (status, output, errors)
    }
}
