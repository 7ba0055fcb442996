/// Where a backend lives, parsed from the URL an operator gives (`--redis redis://host:6379`,
/// `--mariadb mariadb://user:password@host:3306/chat`, `--elasticsearch http://host:9200`).
public struct BackendEndpoint: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case redis, mariadb, elasticsearch

        var schemes: [String] {
            switch self {
            case .redis: ["redis"]
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

    public let kind: Kind
    public let scheme: String
    public let host: String
    public let port: Int
    public let user: String?
    public let password: String?
    /// The path without its leading slash: the MariaDB database, or a Redis database number.
    public let database: String?

    /// Parses `scheme://[user[:password]@]host[:port][/database]`.
    public init(kind: Kind, url: String) throws(InvalidURL) {
        func fail(_ why: String) -> InvalidURL {
            InvalidURL(description: "invalid --\(kind.rawValue) URL '\(url)': \(why); expected \(kind.schemes[0])://HOST[:PORT]")
        }
        guard let schemeEnd = url.range(of: "://") else { throw fail("missing scheme") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard kind.schemes.contains(scheme) else { throw fail("scheme must be \(kind.schemes.joined(separator: " or "))") }
        var rest = url[schemeEnd.upperBound...]
        var database: String?
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            database = path.isEmpty ? nil : String(path)
            rest = rest[..<slash]
        }
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
        var host = Substring(rest)
        var port = kind.defaultPort
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
        self.kind = kind
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// The URL without its password, fit for logs.
    public var description: String {
        let credentials = user.map { "\($0)\(password == nil ? "" : ":***")@" } ?? ""
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(credentials)\(hostPart):\(port)\(database.map { "/\($0)" } ?? "")"
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
