import ArgumentParser
import Foundation

/// Options every scenario shares: which servers to measure and how to report.
struct ServerOptions: ParsableArguments {
    @Option(
        name: .customLong("url"),
        help: "A server's base URL, http://HOST:PORT. Repeat it to spread members over several servers (cross-server).")
    var urls: [String] = []

    @Option(
        name: .customLong("server-pid"),
        help: "The pid of a local server process: its CPU time and resident memory are read from /proc. Repeat for several.")
    var serverPIDs: [Int32] = []

    @Option(help: "WebSocket joins in flight at once.")
    var connectConcurrency = 64

    @Flag(help: "Print one JSON object with every figure on stdout.")
    var json = false

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    func validate() throws {
        _ = try endpoints()
        guard connectConcurrency >= 1 else { throw ValidationError("--connect-concurrency must be at least 1") }
        for pid in serverPIDs where !FileManager.default.fileExists(atPath: "/proc/\(pid)/stat") {
            throw ValidationError("--server-pid \(pid): no such local process (/proc/\(pid)/stat)")
        }
    }

    /// The servers, in the order given (`http://127.0.0.1:8080` when none is).
    func endpoints() throws -> [ServerEndpoint] {
        try (urls.isEmpty ? ["http://127.0.0.1:8080"] : urls).map { url in
            guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host, !host.isEmpty else {
                throw ValidationError("--url \(url): must look like http://HOST:PORT")
            }
            return ServerEndpoint(host: host, port: components.port ?? 80)
        }
    }

    var servers: ServerProcesses { ServerProcesses(processes: serverPIDs.map(ServerProcess.init(pid:))) }

    /// Prints a report as asked: JSON on one line, or the readable summary.
    func print<Report: BenchReport>(_ report: Report) throws {
        Swift.print(json ? try report.json() : report.summary)
    }
}

/// One server to talk to.
struct ServerEndpoint: Sendable, Hashable {
    let host: String
    let port: Int

    var baseURL: String { "http://\(host):\(port)" }
}
