import ChatTestServices
import Foundation
import NIOCore
import NIOPosix

/// Debian's nginx as a process of the test's own, serving the shipped `deploy/nginx/chatd.conf`
/// in front of chatd processes on loopback: master and one worker, with its pid file, logs and
/// temporary files in a folder of its own, stopped by its pid.
final class NginxProcess: Sendable {
    /// Where nginx listens, on 127.0.0.1.
    let port: Int
    private let folder: URL
    private let nginx: ExternalProcess

    static let shippedConfiguration = ServiceScript.packageRoot.appendingPathComponent("deploy/nginx/chatd.conf")
    static let executable = "/usr/sbin/nginx"

    /// What the shipped file logs for every request (its `chatd` log format).
    var accessLog: String { (try? String(contentsOf: folder.appendingPathComponent("chatd-access.log"), encoding: .utf8)) ?? "" }
    /// nginx's own log: startup, and every failed connect to a chatd.
    var errorLog: String { (try? String(contentsOf: folder.appendingPathComponent("error.log"), encoding: .utf8)) ?? "" }

    /// Starts nginx in front of the chatd API ports `upstreams` (as many as the shipped file
    /// has `server` lines) and waits until a request through it reaches a chatd.
    static func start(upstreams: [Int]) async throws -> NginxProcess {
        let shipped = try String(contentsOf: shippedConfiguration, encoding: .utf8)
        // A free port is picked, then bound by nginx: another process may take it between the two.
        var attempt = 0
        while true {
            attempt += 1
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nginx-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let port = try await freePort()
            let configuration = try render(shipped, upstreams: upstreams, port: port, folder: folder.path)
            try configuration.write(to: folder.appendingPathComponent("chatd.conf"), atomically: true, encoding: .utf8)
            try main(including: "chatd.conf", in: folder).write(to: folder.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
            let nginx = try ExternalProcess(
                executable, ["-p", folder.path, "-c", folder.appendingPathComponent("nginx.conf").path, "-e", folder.appendingPathComponent("error.log").path, "-g", "daemon off;"]
            )
            let started = NginxProcess(port: port, folder: folder, nginx: nginx)
            do {
                try await started.waitUntilServing()
                return started
            } catch {
                let log = started.errorLog + nginx.output
                try? await started.stop()
                if attempt < 3 && log.contains("Address already in use") { continue }
                throw error
            }
        }
    }

    private init(port: Int, folder: URL, nginx: ExternalProcess) {
        self.port = port
        self.folder = folder
        self.nginx = nginx
    }

    /// The shipped file with the test's addresses: each upstream `server HOST:PORT` line points
    /// at one of `upstreams` (its parameters kept), `listen 80;` becomes 127.0.0.1:`port` and the
    /// log folder `folder`. Comments stay as shipped. Throws when the file no longer has the
    /// lines this relies on, so the test cannot drift from the file silently.
    static func render(_ shipped: String, upstreams: [Int], port: Int, folder: String) throws -> String {
        var servers = 0, listens = 0, logs = 0
        var lines: [String] = []
        for line in shipped.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let code = line.trimmingCharacters(in: .whitespaces)
            guard !code.hasPrefix("#") else {
                lines.append(line)
                continue
            }
            if let match = line.firstMatch(of: /^(\s*server\s+)[^\s;]+:\d+(.*)$/) {
                guard servers < upstreams.count else { throw TestFailure("\(shippedConfiguration.path) has more upstream servers than the test's \(upstreams.count)") }
                lines.append("\(match.1)127.0.0.1:\(upstreams[servers])\(match.2)")
                servers += 1
            } else if code == "listen 80;" {
                lines.append(line.replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(port);"))
                listens += 1
            } else if line.contains("/var/log/nginx/") {
                lines.append(line.replacingOccurrences(of: "/var/log/nginx/", with: folder + "/"))
                logs += 1
            } else {
                lines.append(line)
            }
        }
        guard servers == upstreams.count, listens == 1, logs >= 1 else {
            throw TestFailure(
                "\(shippedConfiguration.path): expected \(upstreams.count) upstream server lines, one `listen 80;` and a log under /var/log/nginx/; found \(servers), \(listens), \(logs)"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// The main configuration around the shipped http-level file (what Debian's
    /// /etc/nginx/nginx.conf is to /etc/nginx/conf.d/): every path in `folder`.
    private static func main(including file: String, in folder: URL) -> String {
        let path = folder.path
        // Run as root, the master opens the logs and makes the temporary folders for its
        // worker, which runs as nginx's default user (nobody): no `user` directive is needed.
        return """
            worker_processes 1;
            pid \(path)/nginx.pid;
            error_log \(path)/error.log info;
            events { worker_connections 1024; }
            http {
                client_body_temp_path \(path)/client_body;
                proxy_temp_path \(path)/proxy;
                fastcgi_temp_path \(path)/fastcgi;
                uwsgi_temp_path \(path)/uwsgi;
                scgi_temp_path \(path)/scgi;
                include \(path)/\(file);
            }

            """
    }

    /// A port nobody listens on right now (bound to port 0, read, closed).
    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw TestFailure("no port bound") }
        return port
    }

    private func waitUntilServing() async throws {
        _ = try await eventually("nginx did not serve on :\(port); its log:\n\(errorLog)\n\(nginx.output)", timeout: .seconds(20)) {
            guard nginx.process.isRunning else { throw TestFailure("nginx exited \(nginx.process.terminationStatus); its log:\n\(errorLog)\n\(nginx.output)") }
            let status = try? await LoopbackHTTP.request(.GET, port: port, "/v1/chatrooms").status
            return status == 200 ? true : nil
        }
    }

    /// Stops nginx by its pid (SIGTERM: the master ends its worker and every proxied
    /// connection) and removes its folder.
    func stop() async throws {
        if nginx.process.isRunning { kill(nginx.process.processIdentifier, SIGTERM) }
        _ = try await nginx.waitForExit(within: 10)
        try? FileManager.default.removeItem(at: folder)
    }
}
