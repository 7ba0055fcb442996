/// The numbering era of a room's messages: a short random id created together with the room's
/// sequence counter.
///
/// `seq` alone cannot tell new messages from old ones once a counter was lost or rolled back
/// (a failover to a lagging replica, a restore from an older snapshot): numbering then restarts
/// under a *new* epoch, so every server, the join and the chat log treat it as a reset, never as
/// duplicates. Epochs are compared for equality only; they have no order.
public struct RoomEpoch: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// The longest epoch accepted from a client (`epoch=` on a resume).
    public static let maximumLength = 16

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Checks an epoch a client sent back: 1 to ``maximumLength`` characters of `[0-9a-z]`.
    public init(validating text: String) throws(ChatError) {
        guard !text.isEmpty, text.utf8.count <= Self.maximumLength,
              text.utf8.allSatisfy({ Self.alphabet.utf8.contains($0) })
        else { throw .invalidMessage("epoch must be 1 to \(Self.maximumLength) characters of 0-9 and a-z") }
        self.rawValue = text
    }

    /// A fresh epoch: 8 base-32 characters (40 random bits).
    public static func random() -> RoomEpoch {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> RoomEpoch {
        let digits = Array(alphabet)
        return RoomEpoch(rawValue: String((0..<8).map { _ in digits[Int.random(in: 0..<32, using: &generator)] }))
    }

    /// The epoch of messages stored before rooms had epochs (they carry none on the wire).
    public static let legacy = RoomEpoch(rawValue: "0")

    /// The characters of an epoch; what a publish script also uses (Crockford-style base 32).
    public static let alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}

/// Where a message stands in its room: `(epoch, seq)`. What a resume names (`since=SEQ&epoch=E`).
public struct MessagePosition: Hashable, Sendable, Codable, CustomStringConvertible {
    public var epoch: RoomEpoch
    public var seq: Int64

    public init(epoch: RoomEpoch, seq: Int64) {
        self.epoch = epoch
        self.seq = seq
    }

    public var description: String { "\(epoch)/\(seq)" }
}
