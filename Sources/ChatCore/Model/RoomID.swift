/// The identifier of a chat room: a positive integer, as in the seed's `chatrooms(id)` table.
public struct RoomID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: Int64

    /// Wraps an identifier. Room ids are positive; callers parsing client input use ``init(parsing:)``.
    public init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// Parses a room id from a path segment or query value.
    ///
    /// Only plain decimal digits are accepted (no sign, no spaces, no leading `+` or zero), so
    /// that `/v1/chatrooms/7/users`, `/v1/chatrooms/+7/users` and `/v1/chatrooms/007/users`
    /// cannot name the same room.
    public init(parsing text: some StringProtocol) throws(ChatError) {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.first != 0x30, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let value = Int64(text), value > 0
        else {
            throw ChatError.invalidRoomID(String(text.prefix(40)))
        }
        self.rawValue = value
    }

    public static func < (lhs: RoomID, rhs: RoomID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
