import ChatTestServices
import Foundation
import HTTPTypes
import NIOHTTP1

/// The deployment NginxFrontTests run: three chatd processes on one Redis database and one
/// MariaDB, each trusting 127.0.0.1 (where nginx connects from) as its proxy, behind nginx with
/// the shipped deploy/nginx/chatd.conf. Clients talk to ``nginx`` only; the chatd admin
/// listeners tell where each connection landed.
final class NginxFront: Sendable {
    let backends: SharedBackends
    let chatds: [ChatdProcess]
    let adminPorts: [Int]
    let nginx: NginxProcess

    /// Starts it all, runs `body`, and stops each process by its pid (also when `body` throws).
    /// `auth` is chatd's `--auth`; `perAddressLimit` its `--max-connections-per-address`.
    static func with(
        redisDatabase: Int, auth: String = "token", perAddressLimit: Int = 100_000, _ body: (NginxFront) async throws -> Void
    ) async throws {
        let backends = try await SharedBackends.make(redisDatabase: redisDatabase)
        var chatds: [ChatdProcess] = []
        var nginx: NginxProcess?
        do {
            let migrate = try ChatdProcess(["migrate", "--mariadb", backends.mariadbURL])
            guard try await migrate.waitForExit() == 0 else { throw TestFailure("chatd migrate: \(migrate.output)") }
            // `serve` spelled out: ChatdProcess then adds none of its test-client flags, and these
            // set the per-address limit themselves (the test's clients share 127.0.0.1).
            let flags = [
                "serve", "--host", "127.0.0.1", "--port", "0", "--admin-port", "0", "--auth", auth,
                "--redis", backends.redisURL, "--mariadb", backends.mariadbURL, "--trusted-proxy", "127.0.0.1",
                "--max-connections-per-address", "\(perAddressLimit)", "--connection-rate", "100000",
                "--allowed-origin", ChatClient.origin,
            ]
            for _ in 0..<3 { chatds.append(try ChatdProcess(flags)) }
            var ports: [Int] = []
            var adminPorts: [Int] = []
            for chatd in chatds {
                ports.append(try await chatd.listeningPort())
                adminPorts.append(try await Self.adminPort(of: chatd))
            }
            nginx = try await NginxProcess.start(upstreams: ports)
            try await body(NginxFront(backends: backends, chatds: chatds, adminPorts: adminPorts, nginx: nginx!))
        } catch {
            await Self.stop(chatds, nginx, backends)
            throw error
        }
        await Self.stop(chatds, nginx, backends)
    }

    private init(backends: SharedBackends, chatds: [ChatdProcess], adminPorts: [Int], nginx: NginxProcess) {
        self.backends = backends
        self.chatds = chatds
        self.adminPorts = adminPorts
        self.nginx = nginx
    }

    private static func adminPort(of chatd: ChatdProcess) async throws -> Int {
        try await eventually("the admin listener's port; log:\n\(chatd.output)") {
            chatd.output.split(separator: "\n").first { $0.contains("admin listener on ") }
                .flatMap { $0.split(separator: "admin listener on ").last?.split(separator: " ").first?.split(separator: ":").last }
                .flatMap { Int($0) }
        }
    }

    private static func stop(_ chatds: [ChatdProcess], _ nginx: NginxProcess?, _ backends: SharedBackends) async {
        try? await nginx?.stop()
        for chatd in chatds where chatd.process.isRunning { Foundation.kill(chatd.process.processIdentifier, SIGTERM) }
        for chatd in chatds where (try? await chatd.waitForExit()) == nil { Foundation.kill(chatd.process.processIdentifier, SIGKILL) }
        await backends.drop()
    }

    // MARK: Through nginx

    /// A REST call through nginx.
    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, token: String? = nil) async throws -> LoopbackHTTP.Reply {
        try await LoopbackHTTP.request(method, port: nginx.port, path, body: body, token: token)
    }

    /// The join URL through nginx: `user=` (what the shipped file hashes on), and the token when there is one.
    func joinURL(room: Int, user: String, token: String? = nil) -> String {
        let name = user.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? user
        return "ws://127.0.0.1:\(nginx.port)/v1/chatrooms/\(room)/join?user=\(name)" + (token.map { "&access_token=\($0)" } ?? "")
    }

    // MARK: Where connections landed

    /// Joined WebSockets on each chatd (`chatd_connections` on its admin listener); nil for one
    /// that is not running.
    func connections() async throws -> [Int?] {
        var counts: [Int?] = []
        for (chatd, port) in zip(chatds, adminPorts) {
            counts.append(chatd.process.isRunning ? MetricsText(try await AdminHTTP.text(port: port, "/metrics")).int("chatd_connections") : nil)
        }
        return counts
    }

    /// Waits until the running chatd hold `total` joined WebSockets together; returns each one's count.
    @discardableResult
    func waitForConnections(_ total: Int) async throws -> [Int?] {
        var counts: [Int?] = []
        return try await eventually("expected \(total) WebSockets on the chatd, found \(counts)", timeout: .seconds(20)) {
            counts = try await connections()
            return counts.compactMap { $0 }.reduce(0, +) == total ? counts : nil
        }
    }

    /// Opens one WebSocket through nginx with `join` and returns it with the index of the
    /// chatd it landed on: the one whose count went up by one. No other connection may open or
    /// close meanwhile.
    func landing<Client>(_ join: () async throws -> Client) async throws -> (client: Client, server: Int) {
        let before = try await connections()
        let client = try await join()
        var after: [Int?] = []
        let server = try await eventually("one chatd's WebSockets should have gone up by one: \(before) -> \(after)", timeout: .seconds(20)) { () -> Int? in
            after = try await connections()
            let grown = after.indices.filter { after[$0] != before[$0] }
            guard grown.count == 1, let index = grown.first, let was = before[index], after[index] == was + 1 else { return nil }
            return index
        }
        return (client, server)
    }

    /// SIGKILLs chatd `index` and waits until it is gone.
    func kill(_ index: Int) async throws {
        Foundation.kill(chatds[index].process.processIdentifier, SIGKILL)
        _ = try await chatds[index].waitForExit()
    }
}
