/// Every figure of a `connections` run.
struct ConnectionsReport: BenchReport {
    let scenario = "connections"
    let urls: [String]
    let connections: Int
    let rooms: Int
    let deflateOffered: Bool
    let opened: Int
    let errors: Int
    let firstError: String?
    let closedByServer: UInt64
    /// From the first connect to every member listed by the server.
    let secondsToOpen: Double
    let holdSeconds: Double
    /// The server's resident memory (`--server-pid`), when given.
    let server: Memory?
    /// chat-bench's own, for comparison.
    let client: Memory

    struct Memory: Encodable {
        let pids: [Int32]
        let rssBytesBefore: Int
        let rssBytesAfter: Int
        let bytesPerConnection: Double

        enum CodingKeys: String, CodingKey {
            case pids, rssBytesBefore = "rss_bytes_before", rssBytesAfter = "rss_bytes_after", bytesPerConnection = "bytes_per_connection"
        }

        init(pids: [Int32], before: Int, after: Int, connections: Int) {
            self.pids = pids
            rssBytesBefore = before
            rssBytesAfter = after
            bytesPerConnection = connections > 0 ? Double(after - before) / Double(connections) : 0
        }
    }

    enum CodingKeys: String, CodingKey {
        case scenario, urls, connections, rooms, deflateOffered = "deflate_offered", opened, errors, firstError = "first_error"
        case closedByServer = "closed_by_server", secondsToOpen = "seconds_to_open", holdSeconds = "hold_seconds", server, client
    }

    var summary: String {
        var lines = [
            "connections against \(urls.joined(separator: ", ")): \(connections) idle joined connections over \(rooms) room(s)\(deflateOffered ? ", offering permessage-deflate" : "")",
            "  opened        \(opened) in \(format(secondsToOpen, 2)) s (\(format(secondsToOpen > 0 ? Double(opened) / secondsToOpen : 0, 0)) per second); errors \(errors)\(firstError.map { " (first: \($0))" } ?? "")",
        ]
        if let server {
            lines.append(
                "  server RSS    \(server.rssBytesBefore / 1024) KiB before, \(server.rssBytesAfter / 1024) KiB after \(format(holdSeconds)) s: \(format(server.bytesPerConnection / 1024, 2)) KiB per connection")
        } else {
            lines.append("  server RSS    not measured (give --server-pid)")
        }
        lines.append("  chat-bench    \(format(client.bytesPerConnection / 1024, 2)) KiB per connection")
        if closedByServer > 0 { lines.append("  closed        \(closedByServer) connections closed by the server while idle") }
        return lines.joined(separator: "\n")
    }
}
