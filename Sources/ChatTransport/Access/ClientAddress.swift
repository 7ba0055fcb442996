import NIOCore

/// The address a request is counted against (failed-attempt limits, and later per-address
/// caps). The one place that decides it: today the connection's remote IP address; behind a
/// trusted proxy this is where a forwarded address would be read instead.
enum ClientAddress {
    static func of(_ remote: SocketAddress?) -> String {
        guard let remote else { return "unknown" }
        return remote.ipAddress ?? remote.pathname ?? "unknown"
    }
}
