import NIOCore

/// The one place that says which client a connection belongs to, for the per-address limits.
///
/// It is the TCP peer's IP address. Behind a reverse proxy every client has the proxy's
/// address, so the per-address limits then apply to the proxy as a whole (docs/security.md).
enum ClientAddress {
    static func of(_ channel: any Channel) -> String {
        guard let address = channel.remoteAddress else { return "unknown" }
        return address.ipAddress ?? "\(address)"
    }
}
