import ChatTestServices
import Foundation
import Testing

/// `scripts/autobahn/find-python2.sh`, which the test command uses to find the Python 2.7 the
/// conformance suite needs (Debian ships none).
@Suite struct FindPython2Tests {
    private static let script = ServiceScript.packageRoot.appendingPathComponent("scripts/autobahn/find-python2.sh").path

    private struct Run {
        let status: Int32
        let output: String
        let errors: String
    }

    /// Runs the script and waits for it without blocking a thread of the cooperative pool
    /// (other tests run beside this one). Its output is a line or two, well within a pipe's buffer.
    private func run(environment: [String: String]) async throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script]
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Run(
            status: process.terminationStatus,
            output: String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            errors: String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        )
    }

    @Test func aPython2ThatIsNotThereIsAnErrorNotAFallback() async throws {
        let run = try await run(environment: ["PATH": "/usr/bin:/bin", "PYTHON2": "/nonexistent/python2.7"])
        #expect(run.status == 1)
        #expect(run.output.isEmpty)
        #expect(run.errors.contains("PYTHON2=/nonexistent/python2.7 is not a working Python 2.7"))
    }

    @Test func aPython3GivenAsPython2IsRefused() async throws {
        let python3 = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let run = try await run(environment: ["PATH": "/usr/bin:/bin", "PYTHON2": python3])
        #expect(run.status == 1)
        #expect(run.errors.contains("is not a working Python 2.7"))
    }

    @Test func findsAPython27InAPyenvFolder() async throws {
        // A stand-in pyenv tree whose "python" reports 2.7, so the test does not depend on the machine.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("pyenv-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: home) }
        let bin = home.appendingPathComponent("versions/2.7.18/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let python = bin.appendingPathComponent("python")
        try "#!/bin/sh\necho 2.7\n".write(to: python, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: python.path)
        let run = try await run(environment: ["PATH": "/nonexistent", "PYENV_ROOT": home.path, "HOME": home.path])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.trimmingCharacters(in: .whitespacesAndNewlines) == python.path)
    }

    @Test func saysWhereItLookedWhenThereIsNone() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-pyenv-\(UUID().uuidString)")
        // /root/.pyenv is also searched (this project's machines); skip that only where it holds a 2.7.
        let rootHasOne = (try? FileManager.default.contentsOfDirectory(atPath: "/root/.pyenv/versions"))?.contains { $0.hasPrefix("2.7") } ?? false
        let run = try await run(environment: ["PATH": "/nonexistent", "PYENV_ROOT": empty.path, "HOME": empty.path])
        if rootHasOne {
            #expect(run.status == 0)
            #expect(run.output.hasPrefix("/root/.pyenv/versions/2.7"))
        } else {
            #expect(run.status == 1)
            #expect(run.errors.contains("no Python 2.7 found"))
        }
    }
}
