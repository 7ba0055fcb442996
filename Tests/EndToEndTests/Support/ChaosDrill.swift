import ChatStorage
import ChatTestServices
import Foundation
import Logging

/// What the chaos drill runs (ChaosDrillTests): its own Redis (append-only, so a restart keeps
/// what was written) and MariaDB, the Elasticsearch stand-in, chatd processes on all three and
/// one `chat-bench chaos` on every chatd. ``stop()`` ends each of them by its own pid.
final class ChaosDrill: @unchecked Sendable {
    let redis = OwnServer(.redis, appendOnly: true)
    let mariadb = OwnServer(.mariadb)
    let fake: FakeElasticsearch
    let redisClient: RedisClient
    let stopFile = FileManager.default.temporaryDirectory.appendingPathComponent("chaos-stop-\(UUID().uuidString)")
    let acksFile = FileManager.default.temporaryDirectory.appendingPathComponent("chaos-acks-\(UUID().uuidString).json")
    // Only the test's task touches these (hence @unchecked).
    private(set) var chatds: [ChatdProcess] = []
    private(set) var ports: [Int] = []
    private(set) var bench: ExternalProcess?

    /// The figures of `chat-bench chaos`'s latest "chaos status: {…}" line.
    struct Status: Decodable {
        var sent = 0, acknowledged = 0, unacknowledged = 0, resends = 0, drops = 0, reconnects = 0
        var connected = 0, errors = 0, unavailable = 0, epochs = 0
    }

    init() async throws {
        redisClient = RedisClient(configuration: try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: redis.url)), logger: Logger(label: "test.chaos.redis"))
        fake = try await FakeElasticsearch.start()  // last: nothing after it can fail
    }

    /// Starts the backends, migrates them and starts `servers` chatd processes.
    func startServers(_ servers: Int) async throws {
        try await redis.start()
        try await mariadb.start()
        try await ChatdProcess.migrate(mariadb: mariadb.url, elasticsearch: fake.url)
        let flags = [
            "--host", "127.0.0.1", "--port", "0", "--redis", redis.url, "--mariadb", mariadb.url, "--elasticsearch", fake.url,
            "--chat-log-claim-after", "2", "--room-quota", "0",
        ]
        for _ in 0..<servers { chatds.append(try ChatdProcess(flags)) }
        for chatd in chatds { ports.append(try await chatd.listeningPort()) }
    }

    /// Starts `chat-bench chaos` on every chatd; it posts until ``stopPosting()``.
    func startBench(_ arguments: [String]) throws {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        bench = try ExternalProcess(
            folder.appendingPathComponent("chat-bench").path,
            ["chaos"] + ports.flatMap { ["--url", "http://127.0.0.1:\($0)"] } + arguments
                + ["--stop-file", stopFile.path, "--acks-file", acksFile.path, "--status-interval", "0.25", "--json"])
    }

    var status: Status? {
        guard let line = bench?.output.split(separator: "\n").last(where: { $0.hasPrefix("chaos status: ") }) else { return nil }
        return try? JSONDecoder().decode(Status.self, from: Data(line.dropFirst("chaos status: ".count).utf8))
    }

    /// Waits until `condition` holds for the bench's running totals.
    @discardableResult
    func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: @escaping (Status) -> Bool) async throws -> Status {
        try await eventually("chaos drill: \(what); last status: \(String(describing: status))\n\(bench?.output.suffix(2_000) ?? "")", timeout: timeout) {
            try await Task.sleep(for: .milliseconds(50))
            return status.flatMap { condition($0) ? $0 : nil }
        }
    }

    /// Waits until `more` posts more than now were acknowledged: chat goes on.
    @discardableResult
    func waitForProgress(_ what: String, more: Int = 15) async throws -> Status {
        let base = try await waitFor("no status line") { _ in true }.acknowledged
        return try await waitFor("no progress \(what)") { $0.acknowledged >= base + more }
    }

    /// Ends posting and returns chat-bench's report once it settled and exited.
    func stopPosting(within seconds: Int) async throws -> [String: Any] {
        _ = FileManager.default.createFile(atPath: stopFile.path, contents: nil)
        guard let bench else { throw TestFailure("no chat-bench") }
        let status = try await bench.waitForExit(within: seconds)
        guard status == 0, let line = bench.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw TestFailure("chat-bench chaos exited \(status) without a report:\n\(bench.output.suffix(4_000))") }
        return report
    }

    /// SIGKILLs chatd `index` and waits for it to be gone.
    func kill(_ index: Int) async throws {
        Foundation.kill(chatds[index].process.processIdentifier, SIGKILL)
        _ = try await chatds[index].waitForExit()
    }

    /// Stops chatd `index` (SIGSTOP): a hung server whose sockets stay open.
    func freeze(_ index: Int) throws {
        guard Foundation.kill(chatds[index].process.processIdentifier, SIGSTOP) == 0 else { throw TestFailure("cannot stop chatd \(index)") }
    }

    /// Stops everything started, each by its own pid (chatd: SIGTERM, then SIGKILL if it hangs).
    func stop() async {
        if let bench, bench.process.isRunning { bench.process.terminate() }
        for chatd in chatds where chatd.process.isRunning {
            Foundation.kill(chatd.process.processIdentifier, SIGCONT)  // a frozen one, too
            Foundation.kill(chatd.process.processIdentifier, SIGTERM)
            if (try? await chatd.waitForExit()) == nil { Foundation.kill(chatd.process.processIdentifier, SIGKILL) }
        }
        await redisClient.shutdown()
        await fake.stop()
        await redis.remove()
        await mariadb.remove()
        try? FileManager.default.removeItem(at: stopFile)
        try? FileManager.default.removeItem(at: acksFile)
    }
}
