import NIOCore
import NIOHTTP1

/// Which client address a connection counts against, and its place in the
/// ``ConnectionLimiter`` until it closes. Confined to the connection's event loop.
///
/// A connection from a trusted proxy is attributed at its first request head, to the client
/// the proxy names; any other connection at accept, to its peer.
final class ClientAttribution {
    private let limiter: ConnectionLimiter
    private let counters: TransportCounters
    private let trustedProxies: Set<String>
    /// The address counted against, once known.
    private(set) var address: String?
    /// The trusted proxy the connection came from, until its first head names the client.
    private var proxy: String?

    init(limiter: ConnectionLimiter, counters: TransportCounters, trustedProxies: Set<String>) {
        self.limiter = limiter
        self.counters = counters
        self.trustedProxies = trustedProxies
    }

    /// At accept: the error to refuse the connection with, or nil when it may go on.
    func admit(_ channel: any Channel) -> APIError? {
        let peer = ClientAddress.peer(of: channel)
        let verdict: ConnectionLimiter.Verdict
        if trustedProxies.contains(peer) {
            verdict = limiter.admitUnattributed()
            if verdict == .admitted { proxy = peer }
        } else {
            verdict = limiter.admit(peer)
            if verdict == .admitted { address = peer }
        }
        guard verdict == .admitted else { return refusal(verdict) }
        let limiter = limiter
        channel.closeFuture.assumeIsolated().whenComplete { _ in limiter.release(self.address) }
        return nil
    }

    /// At the first request head: for a proxied connection, counts it against the client the
    /// proxy names; the error to answer with when that client is over its limits.
    func attribute(_ head: HTTPRequestHead) -> APIError? {
        guard let proxy else { return nil }
        self.proxy = nil
        let client = ClientAddress.forwarded(by: proxy, headers: head.headers, trustedProxies: trustedProxies)
        let verdict = limiter.admitAddress(client)
        guard verdict == .admitted else { return refusal(verdict) }
        address = client
        return nil
    }

    private func refusal(_ verdict: ConnectionLimiter.Verdict) -> APIError? {
        switch verdict {
        case .admitted:
            return nil
        case .tooManyFromAddress(let message):
            counters.countConnectionRefusedForAddress()
            return APIError(.tooManyRequests, message, headers: [.retryAfter: "1"])
        case .serverFull(let message):
            counters.countConnectionRefusedServerFull()
            return APIError(.serviceUnavailable, message, headers: [.retryAfter: "5"])
        }
    }
}
