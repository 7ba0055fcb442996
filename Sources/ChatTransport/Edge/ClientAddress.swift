import Foundation
import NIOCore
import NIOHTTP1

/// The one place that says which client a connection belongs to, for the per-address limits.
///
/// It is the TCP peer's IP address, unless the peer is one of the operator's trusted proxies
/// (`--trusted-proxy`): then it is the client the proxy names, in `X-Forwarded-For` (the
/// rightmost address that is not itself a trusted proxy: the ones left of it could be made up
/// by the client) or else `X-Real-IP`. Headers from anyone else are ignored: a client could
/// otherwise pick a fresh address per connection and escape every per-address limit.
///
/// Failed credential checks (``AccessControl``) count against ``of(_:)``, the TCP peer.
enum ClientAddress {
    static func peer(of channel: any Channel) -> String {
        of(channel.remoteAddress)
    }

    /// The IP address of a TCP peer (a socket path for a Unix socket).
    static func of(_ remote: SocketAddress?) -> String {
        guard let remote else { return "unknown" }
        return remote.ipAddress ?? remote.pathname ?? "unknown"
    }

    /// The client a trusted proxy forwards for, or the proxy itself when it names none.
    static func forwarded(by proxy: String, headers: HTTPHeaders, trustedProxies: Set<String>) -> String {
        let hops = headers[canonicalForm: "X-Forwarded-For"].map { $0.trimmingCharacters(in: .whitespaces) }
        if let client = hops.reversed().first(where: { !$0.isEmpty && !trustedProxies.contains($0) }) {
            return client
        }
        if let real = headers.first(name: "X-Real-IP")?.trimmingCharacters(in: .whitespaces), !real.isEmpty {
            return real
        }
        return proxy
    }
}
