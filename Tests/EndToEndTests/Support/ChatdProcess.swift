import ChatTransport
import Foundation

/// A running chatd child process and what it has written to standard error.
final class ChatdProcess: Sendable {
    let process: Process
    private let logFile: URL

    /// What chatd has written to standard error so far.
    var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        // The test binary sits in the same build folder as chatd (a dependency of this target).
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // Standard error goes to a file the test reads back, so nothing chatd writes can block it.
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("chatd-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process = Process()
        process.executableURL = folder.appendingPathComponent("chatd")
        // `chatd serve` (flags only) gets the limits out of the way of the tests' clients.
        let serves = arguments.first.map { $0.hasPrefix("--") } ?? true
        process.arguments = serves ? arguments + ChatServerConfiguration.testClientFlags : arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = try FileHandle(forWritingTo: logFile)
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The port from the "listening on HOST:PORT" log line.
    func listeningPort() async throws -> Int {
        try await eventually("chatd did not report its port; log:\n\(output)") {
            // "… chatd listening on 127.0.0.1:43167 (HTTP API, …)"
            guard let line = output.split(separator: "\n").first(where: { $0.contains("chatd listening on ") }),
                let address = line.split(separator: "chatd listening on ").last?.split(separator: " ").first,
                let port = address.split(separator: ":").last.flatMap({ Int($0) })
            else { return nil }
            return port
        }
    }

    func waitForExit() async throws -> Int32 {
        // 20 s: `chatd migrate` may spend its 5 s Elasticsearch connect timeout before it fails.
        try await eventually("chatd did not exit; log:\n\(output)", timeout: .seconds(20)) { process.isRunning ? nil : process.terminationStatus }
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: logFile)
    }
}


extension ChatdProcess {
    /// `chatd migrate` for MariaDB and for Elasticsearch, as an operator runs it before the
    /// first `serve`.
    static func migrate(mariadb: String, elasticsearch: String) async throws {
        for migration in [["migrate", "--mariadb", mariadb], ["migrate", "--elasticsearch", elasticsearch]] {
            let migrate = try ChatdProcess(migration)
            guard try await migrate.waitForExit() == 0 else { throw TestFailure("chatd \(migration): \(migrate.output)") }
        }
    }
}
