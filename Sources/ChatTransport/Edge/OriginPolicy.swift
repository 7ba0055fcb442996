/// Which web pages may open a WebSocket to this server: the defence against cross-site
/// WebSocket hijacking, where a page on another site joins with the visitor's browser.
///
/// Browsers always send `Origin` on a WebSocket upgrade; other clients (curl, websocat, bots)
/// usually do not, and an upgrade without `Origin` is let through: it cannot be a browser
/// acting for another site.
public struct OriginPolicy: Sendable, Equatable {
    /// Origins allowed besides the server's own, as `scheme://host[:port]`, lower-cased,
    /// without default ports; nil: any origin (`*`).
    public private(set) var allowed: Set<String>?

    /// Only pages served by this server itself (the default).
    public static let sameOrigin = OriginPolicy(allowed: [])
    /// Any page (`--allowed-origin '*'`): for deployments that check origins elsewhere.
    public static let anyOrigin = OriginPolicy(allowed: nil)

    private init(allowed: Set<String>?) {
        self.allowed = allowed
    }

    /// The server's own origin and `origins` (`*` allows every origin). Throws for an entry
    /// that is not `scheme://host[:port]`.
    public init(allowing origins: [String]) throws(InvalidOrigin) {
        if origins.contains("*") {
            self = .anyOrigin
            return
        }
        var allowed = Set<String>()
        for origin in origins {
            guard let normalized = Self.normalized(origin) else { throw InvalidOrigin(origin: origin) }
            allowed.insert(normalized.origin)
        }
        self.init(allowed: allowed)
    }

    public struct InvalidOrigin: Error, CustomStringConvertible {
        public let origin: String
        public var description: String { "invalid origin '\(origin)': expected scheme://host[:port], e.g. https://chat.example.com, or *" }
    }

    /// Whether an upgrade with `Origin: origin` (nil: none sent) to `host` (its `Host` header)
    /// may proceed. The own origin is judged by host and port only, not scheme, so it holds
    /// behind a proxy that terminates TLS.
    public func allows(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        guard let allowed else { return true }
        guard let normalized = Self.normalized(origin) else { return false }  // "null", garbage
        if allowed.contains(normalized.origin) { return true }
        guard let host, let ownAuthority = Self.authority(host, defaultPort: normalized.defaultPort) else { return false }
        return ownAuthority == normalized.authority
    }

    /// `scheme://host[:port]` split and lower-cased, the scheme's default port dropped.
    private static func normalized(_ origin: String) -> (origin: String, authority: String, defaultPort: String?)? {
        let lowered = origin.lowercased()
        guard let separator = lowered.range(of: "://") else { return nil }
        let scheme = String(lowered[..<separator.lowerBound])
        let rest = String(lowered[separator.upperBound...])
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) else { return nil }
        let defaultPort: String? = switch scheme {
        case "http", "ws": "80"
        case "https", "wss": "443"
        default: nil
        }
        guard let authority = authority(rest, defaultPort: defaultPort) else { return nil }
        return ("\(scheme)://\(authority)", authority, defaultPort)
    }

    /// `host[:port]` lower-cased without the default port; nil if it has a path or is empty.
    private static func authority(_ text: String, defaultPort: String?) -> String? {
        let lowered = text.lowercased()
        guard !lowered.isEmpty, !lowered.contains("/"), !lowered.contains("@"), !lowered.contains(where: \.isWhitespace) else { return nil }
        if let defaultPort, lowered.hasSuffix(":\(defaultPort)") {
            return String(lowered.dropLast(defaultPort.count + 1))
        }
        return lowered
    }
}
