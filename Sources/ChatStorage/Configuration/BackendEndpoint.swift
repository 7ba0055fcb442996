/// Where a backend lives, parsed from the URL an operator gives (`--redis redis://host:6379`,
/// `--mariadb mariadb://user:password@host:3306/chat`, `--elasticsearch http://host:9200`).
///
/// TLS comes from the scheme (`rediss://`, `https://`) or, for MariaDB, `?ssl=true`; the query
/// may add `ca=FILE` (the CA that signs the server's certificate) and `verify_hostname=false`.
/// The password never leaves this value in text: ``description`` and every parse error mask it.
public struct BackendEndpoint: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case redis, mariadb, elasticsearch

        var schemes: [String] {
            switch self {
            case .redis: ["redis", "rediss", "redis+cluster", "rediss+cluster"]
            case .mariadb: ["mariadb", "mysql"]
            case .elasticsearch: ["http", "https"]
            }
        }

        var defaultPort: Int {
            switch self {
            case .redis: 6379
            case .mariadb: 3306
            case .elasticsearch: 9200
            }
        }
    }

    public struct InvalidURL: Error, CustomStringConvertible {
        public let description: String
    }

    /// One `host:port` of the URL.
    public struct Address: Hashable, Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public let kind: Kind
    public let scheme: String
    public let host: String
    public let port: Int
    /// Every `host:port` of the URL, the first being ``host`` and ``port``: a Redis Cluster URL
    /// (`redis+cluster://A:7001,B:7002`) names several seed nodes, any other exactly one.
    public let addresses: [Address]
    public let user: String?
    public let password: String?
    /// The path without its leading slash: the MariaDB database, or a Redis database number.
    public let database: String?
    /// TLS to the backend; nil: plain TCP. A `var` so that `--redis-ca` and `--elasticsearch-ca`
    /// can name the CA after parsing.
    public var tls: BackendTLS?

    /// Parses `scheme://[user[:password]@]host[:port][/database][?key=value&…]`.
    public init(kind: Kind, url: String) throws(InvalidURL) {
        func fail(_ why: String) -> InvalidURL {
            InvalidURL(
                description: "invalid --\(kind.rawValue) URL '\(Self.redacting(url))': \(why); expected \(kind.schemes[0])://HOST[:PORT]"
            )
        }
        guard let schemeEnd = url.range(of: "://") else { throw fail("missing scheme") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard kind.schemes.contains(scheme) else { throw fail("scheme must be \(kind.schemes.joined(separator: " or "))") }
        var rest = url[schemeEnd.upperBound...]
        // Credentials first, up to the last "@": a password written without percent-encoding
        // may hold "/", "?" or "#", and must neither be read as the path nor leak into an error.
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon]).removingPercentEscapes
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEscapes
            } else {
                user = String(credentials).removingPercentEscapes
            }
            rest = rest[rest.index(after: at)...]
        }
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        let tls = try Self.tls(kind: kind, scheme: scheme, query: query, fail: fail)
        var database: String?
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            database = path.isEmpty ? nil : String(path)
            rest = rest[..<slash]
        }
        let isCluster = scheme.hasSuffix("+cluster")  // several seed nodes
        var addresses: [Address] = []
        for part in rest.split(separator: ",", omittingEmptySubsequences: false) {
            addresses.append(try Self.address(part, defaultPort: kind.defaultPort, fail: fail))
        }
        guard addresses.count == 1 || isCluster else {
            throw fail(kind == .redis ? "several hosts are the nodes of a Redis Cluster: write \(scheme)+cluster://" : "one host only")
        }
        self.kind = kind
        self.scheme = scheme
        self.host = addresses[0].host
        self.port = addresses[0].port
        self.addresses = addresses
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses one `host[:port]` or `[v6][:port]`.
    private static func address(_ text: Substring, defaultPort: Int, fail: (String) -> InvalidURL) throws(InvalidURL) -> Address {
        var host = text
        var port = defaultPort
        if host.hasPrefix("[") {  // [::1]:6379
            guard let close = host.firstIndex(of: "]") else { throw fail("unclosed IPv6 address") }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()) else { throw fail("bad port") }
                port = value
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let value = Int(host[host.index(after: colon)...]) else { throw fail("bad port") }
            port = value
            host = host[..<colon]
        }
        guard !host.isEmpty else { throw fail("missing host") }
        guard (1...65535).contains(port) else { throw fail("port must be 1 to 65535") }
        return Address(host: String(host), port: port)
    }

    /// TLS from the scheme and the query's `ssl`, `ca` and `verify_hostname`.
    private static func tls(
        kind: Kind, scheme: String, query: Substring?, fail: (String) -> InvalidURL
    ) throws(InvalidURL) -> BackendTLS? {
        var enabled = scheme == "rediss" || scheme == "rediss+cluster" || scheme == "https"
        var settings = BackendTLS()
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEscapes
            let value = parts.count > 1 ? String(parts[1]).removingPercentEscapes : ""
            func flag() throws(InvalidURL) -> Bool {
                switch value.lowercased() {
                case "true", "1", "yes", "on": return true
                case "false", "0", "no", "off": return false
                default: throw fail("'\(key)' must be true or false")
                }
            }
            switch key {
            case "ssl" where kind == .mariadb: enabled = try flag()
            case "ca":
                guard !value.isEmpty else { throw fail("'ca' needs a file") }
                settings.certificateAuthorityFile = value
            case "verify_hostname": settings.verifiesHostname = try flag()
            default:
                let known = kind == .mariadb ? "ssl, ca and verify_hostname" : "ca and verify_hostname"
                throw fail("unknown parameter '\(key)' (known: \(known))")
            }
        }
        guard enabled else {
            guard settings == BackendTLS() else {
                throw fail(kind == .mariadb ? "'ca' and 'verify_hostname' need ssl=true" : "'ca' and 'verify_hostname' need \(kind == .redis ? "rediss" : "https")://")
            }
            return nil
        }
        return settings
    }

    /// The URL without its password, fit for logs.
    public var description: String {
        let credentials = user.map { "\($0)\(password == nil ? "" : ":***")@" } ?? ""
        var query: [String] = []
        if let tls {
            if kind == .mariadb { query.append("ssl=true") }
            if let file = tls.certificateAuthorityFile { query.append("ca=\(file)") }
            if !tls.verifiesHostname { query.append("verify_hostname=false") }
        }
        let path = database.map { "/\($0)" } ?? ""
        return "\(scheme)://\(credentials)\(addresses.map(\.description).joined(separator: ","))\(path)\(query.isEmpty ? "" : "?" + query.joined(separator: "&"))"
    }

    /// Whether the URL names a Redis Cluster (`redis+cluster://`, `rediss+cluster://`).
    public var isCluster: Bool { scheme.hasSuffix("+cluster") }

    /// An operator's URL as written, with the password (if any) replaced by `***`: what a parse
    /// error may echo. The password runs from the first ":" after the scheme to the last "@"
    /// (as the parser reads it); without `://` the whole text is taken as `user:password@host…`.
    public static func redacting(_ url: String) -> String {
        let authorityStart = url.range(of: "://")?.upperBound ?? url.startIndex
        let afterScheme = url[authorityStart...]
        guard let at = afterScheme.lastIndex(of: "@"),
            let colon = afterScheme[..<at].firstIndex(of: ":")
        else { return url }
        return String(url[...colon]) + "***" + String(url[at...])
    }
}

extension String {
    /// RFC 3986 percent-decoding without Foundation; invalid escapes are kept as written.
    fileprivate var removingPercentEscapes: String {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension BackendEndpoint: CustomDebugStringConvertible {
    /// As ``description``: `String(reflecting:)` must not show the password either.
    public var debugDescription: String { description }
}
