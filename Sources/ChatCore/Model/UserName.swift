/// A validated user name: what a user is called in a room and on every message they post.
///
/// Rules, and why:
/// - 1 to 32 Unicode scalars: the seed stores names in `varchar(32)` (utf8mb4 counts code points).
/// - No control characters (C0, DEL, C1): they corrupt logs and terminals and cannot be typed.
/// - No line or paragraph separators (U+2028, U+2029): they break line-oriented clients.
/// - No bidirectional overrides or isolates (U+202A–U+202E, U+2066–U+2069): they let one name
///   render as another ("Trojan Source"-style spoofing).
/// - No byte-order mark or other zero-width formatting at the edges, and no leading or trailing
///   white space: `"John "` must not be a second John.
/// - No private-use or unassigned scalars: they render differently everywhere.
/// Letters of any script, digits, punctuation, inner spaces and emoji are fine.
public struct UserName: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public static let maximumLength = 32

    public let rawValue: String

    /// Validates `rawValue`; returns `nil` when it breaks a rule. Use ``init(validating:)`` for the reason.
    public init?(rawValue: String) {
        guard (try? Self.validate(rawValue)) != nil else { return nil }
        self.rawValue = rawValue
    }

    /// Validates a name sent by a client, throwing ``ChatError/invalidUserName(_:)`` with the reason.
    public init(validating rawValue: String) throws(ChatError) {
        try Self.validate(rawValue)
        self.rawValue = rawValue
    }

    /// Trusted construction for names that come back from our own stores.
    public init(trusted rawValue: String) {
        self.rawValue = rawValue
    }

    private static func validate(_ name: String) throws(ChatError) {
        let scalars = name.unicodeScalars
        if scalars.isEmpty {
            throw .invalidUserName("name must not be empty")
        }
        if scalars.count > maximumLength {
            throw .invalidUserName("name must be at most \(maximumLength) characters")
        }
        for scalar in scalars {
            switch scalar.properties.generalCategory {
            case .control:
                throw .invalidUserName("name must not contain control characters")
            case .lineSeparator, .paragraphSeparator:
                throw .invalidUserName("name must not contain line breaks")
            case .privateUse, .unassigned, .surrogate:
                throw .invalidUserName("name must not contain unassigned or private-use characters")
            default:
                break
            }
            if (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) {
                throw .invalidUserName("name must not contain bidirectional override characters")
            }
        }
        let edges = [scalars.first!, scalars.last!]
        if edges.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .format }) {
            throw .invalidUserName("name must not start or end with white space or invisible characters")
        }
    }

    public static func < (lhs: UserName, rhs: UserName) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(validating: raw)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
