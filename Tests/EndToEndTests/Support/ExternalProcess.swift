import Foundation

/// A helper program run by a test (an independent client such as Python's `websockets`), its
/// standard output and error captured in a file the test reads back.
final class ExternalProcess: Sendable {
    let process: Process
    private let logFile: URL

    /// What the program has written so far.
    var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    init(_ executable: String, _ arguments: [String]) throws {
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("external-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func waitForExit(within seconds: Int) async throws -> Int32 {
        try await eventually("\(process.executableURL?.lastPathComponent ?? "process") did not exit; output:\n\(output)", timeout: .seconds(seconds)) {
            process.isRunning ? nil : process.terminationStatus
        }
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: logFile)
    }
}
