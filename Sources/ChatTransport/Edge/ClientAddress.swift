import Foundation
import NIOCore
import HTTPTypes
import NIOHTTP1

/// The one place that says which client a connection belongs to, for the per-address limits.
///
/// It is the TCP peer's IP address, unless the peer is one of the operator's trusted proxies
/// (`--trusted-proxy`): then it is the client the proxy names, in `X-Forwarded-For` (the
/// rightmost address that is not itself a trusted proxy: the ones left of it could be made up
/// by the client) or else `X-Real-IP`. Headers from anyone else are ignored: a client could
/// otherwise pick a fresh address per connection and escape every per-address limit.
///
/// Connection limits count against it (``ClientAttribution``), and so do failed credential
/// checks (``AccessControl``, through ``of(_:peer:trustedProxies:)``).
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
        forwarded(
            by: proxy, forwardedFor: headers[canonicalForm: "X-Forwarded-For"].map(String.init),
            realIP: headers.first(name: "X-Real-IP"), trustedProxies: trustedProxies
        )
    }

    /// The client a request head read from `channel` counts against: its peer, or the client
    /// a trusted proxy names for it.
    static func of(_ head: HTTPRequestHead, on channel: any Channel, trustedProxies: Set<String>) -> String {
        let peer = peer(of: channel)
        guard trustedProxies.contains(peer) else { return peer }
        return forwarded(by: peer, headers: head.headers, trustedProxies: trustedProxies)
    }

    /// The client an HTTP request counts against (failed credential checks): its peer, or the
    /// client a trusted proxy names for it.
    static func of(_ request: HTTPRequest, peer: SocketAddress?, trustedProxies: Set<String>) -> String {
        let peer = of(peer)
        guard trustedProxies.contains(peer) else { return peer }
        let forwardedFor = request.headerFields[values: forwardedForField].flatMap { $0.split(separator: ",").map(String.init) }
        return forwarded(by: peer, forwardedFor: forwardedFor, realIP: request.headerFields[realIPField], trustedProxies: trustedProxies)
    }

    private static let forwardedForField = HTTPField.Name("X-Forwarded-For")!
    private static let realIPField = HTTPField.Name("X-Real-IP")!

    private static func forwarded(by proxy: String, forwardedFor: [String], realIP: String?, trustedProxies: Set<String>) -> String {
        let hops = forwardedFor.map { $0.trimmingCharacters(in: .whitespaces) }
        if let client = hops.reversed().first(where: { !$0.isEmpty && !trustedProxies.contains($0) }) {
            return client
        }
        if let real = realIP?.trimmingCharacters(in: .whitespaces), !real.isEmpty {
            return real
        }
        return proxy
    }
}
