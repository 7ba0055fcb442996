import Foundation
import NIOCore
import NIOPosix

/// A Redis server's own CPU (`INFO cpu`: used_cpu_user, used_cpu_sys), read over one short
/// connection before and after the measured window (`--redis-url`; for a cluster, one per node).
struct RedisCPU: Sendable {
    let url: String
    let host: String
    let port: Int
    let user: String?
    let password: String?

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` (the database does not matter: CPU is the server's).
    init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis", let host = components.host, !host.isEmpty else {
            throw Unreadable(description: "--redis-url \(url): must look like redis://[:PASSWORD@]HOST[:PORT]")
        }
        self.url = url
        self.host = host
        port = components.port ?? 6379
        user = components.user.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding }
        password = components.password?.removingPercentEncoding
    }

    /// The server's CPU seconds so far.
    func cpuTime(on group: any EventLoopGroup) async throws -> CPUTime {
        let channel = try await ClientBootstrap(group: group).connectTimeout(.seconds(5)).connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        var commands: [[String]] = []
        if let password { commands.append(user.map { ["AUTH", $0, password] } ?? ["AUTH", password]) }
        commands.append(["INFO", "cpu"])
        let replies = try await channel.executeThenClose { inbound, outbound in
            var request = ByteBuffer()
            for command in commands { request.writeString(Self.encode(command)) }
            try await outbound.write(request)
            var received = ByteBuffer()
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
                if let replies = Self.replies(commands.count, in: received) { return replies }
                guard received.readableBytes < 1 << 20 else { break }
            }
            throw Unreadable(description: "\(url): the connection ended before INFO answered")
        }
        if let error = replies.first(where: { $0.hasPrefix("-") }) { throw Unreadable(description: "\(url): \(error.dropFirst())") }
        return try Self.parseCPU(replies[replies.count - 1], url: url)
    }

    /// used_cpu_user and used_cpu_sys out of an `INFO cpu` text.
    static func parseCPU(_ info: String, url: String) throws -> CPUTime {
        var fields: [Substring: Double] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespaces)) { fields[parts[0]] = value }
        }
        guard let user = fields["used_cpu_user"], let system = fields["used_cpu_sys"] else {
            throw Unreadable(description: "\(url): INFO cpu has no used_cpu_user and used_cpu_sys")
        }
        return CPUTime(user: user, system: system)
    }

    private static func encode(_ command: [String]) -> String {
        "*\(command.count)\r\n" + command.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }

    /// `count` whole replies (simple, error or bulk strings) as text, or nil while incomplete.
    static func replies(_ count: Int, in buffer: ByteBuffer) -> [String]? {
        let bytes = Array(buffer.readableBytesView)
        var replies: [String] = []
        var index = 0
        func line(from start: Int) -> (String, Int)? {
            var i = start
            while i + 1 < bytes.count {
                if bytes[i] == 13, bytes[i + 1] == 10 { return (String(decoding: bytes[start..<i], as: UTF8.self), i + 2) }
                i += 1
            }
            return nil
        }
        while replies.count < count {
            guard index < bytes.count, let found = line(from: index) else { return nil }
            let (head, next) = found
            if head.hasPrefix("$") {
                guard let length = Int(head.dropFirst()) else { return [String("-bad reply \(head)")] }
                if length < 0 {
                    replies.append("")
                    index = next
                    continue
                }
                guard next + length + 2 <= bytes.count else { return nil }
                replies.append(String(decoding: bytes[next..<next + length], as: UTF8.self))
                index = next + length + 2
            } else {
                replies.append(head)
                index = next
            }
        }
        return replies
    }
}

/// Every `--redis-url`, summed: the nodes of a cluster count as one Redis side.
struct RedisServers: Sendable {
    let servers: [RedisCPU]

    var isEmpty: Bool { servers.isEmpty }

    func cpuTime(on group: any EventLoopGroup) async throws -> CPUTime {
        var total = CPUTime(user: 0, system: 0)
        for server in servers { total = total + (try await server.cpuTime(on: group)) }
        return total
    }
}
