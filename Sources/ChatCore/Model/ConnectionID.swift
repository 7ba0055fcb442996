/// Identifies one live client connection across the whole deployment: which server holds it and
/// that server's own counter. Presence is kept per connection, so a user with two tabs stays in a
/// room until the last one closes, and a dead server's connections can be reaped by its id.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let server: ServerID
    public let number: UInt64

    public init(server: ServerID, number: UInt64) {
        self.server = server
        self.number = number
    }

    public var description: String { "\(server.rawValue)/\(number)" }
}

/// The identity of one chat server process.
public struct ServerID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// A fresh random identity for a process that starts.
    public static func random() -> ServerID {
        ServerID(rawValue: String(UInt64.random(in: 0...UInt64.max), radix: 36))
    }

    public var description: String { rawValue }
}
