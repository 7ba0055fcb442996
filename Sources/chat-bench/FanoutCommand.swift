import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// `chat-bench fanout`: delivery rate, latency, losses and order for R rooms x M members.
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "R rooms of M members; P of them publish at a set total rate. Reports deliveries/s, latency, lost, out of order."
    )

    @Option(help: "The server's base URL.")
    var url = "http://127.0.0.1:8080"

    @Option(help: "Rooms.")
    var rooms = 1

    @Option(help: "Members per room (each a WebSocket).")
    var members = 100

    @Option(help: "Publishing members in all (spread over the rooms).")
    var publishers = 1

    @Option(help: "Messages per second, all publishers together.")
    var rate: Double = 100

    @Option(help: "Seconds of publishing.")
    var duration: Double = 10

    @Option(help: "Seconds to wait after publishing stops before counting.")
    var drain: Double = 1

    @Option(help: "WebSocket joins in flight at once.")
    var connectConcurrency = 64

    @Flag(help: "Print one JSON object with every figure on stdout.")
    var json = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func validate() throws {
        guard rooms >= 1, members >= 1 else { throw ValidationError("--rooms and --members must be at least 1") }
        guard (1...(rooms * members)).contains(publishers) else { throw ValidationError("--publishers must be between 1 and rooms x members") }
        guard rate > 0, duration > 0, drain >= 0 else { throw ValidationError("--rate and --duration must be positive") }
        _ = try endpoint()
    }

    private func endpoint() throws -> (host: String, port: Int) {
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host else {
            throw ValidationError("--url must look like http://HOST:PORT")
        }
        return (host, components.port ?? 80)
    }

    func run() async throws {
        let (host, port) = try endpoint()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let http = HTTPClient(eventLoopGroupProvider: .shared(group))
        let scenario = FanoutRun(
            host: host, port: port, rooms: rooms, members: members, publishers: publishers, rate: rate,
            duration: duration, drain: drain, connectConcurrency: connectConcurrency, progress: !quiet)
        let result: Result<FanoutReport, any Error>
        do { result = .success(try await scenario.run(group: group, http: http)) } catch { result = .failure(error) }
        try? await http.shutdown()
        try? await group.shutdownGracefully()
        let report = try result.get()
        print(json ? try report.json() : report.summary)
    }
}
