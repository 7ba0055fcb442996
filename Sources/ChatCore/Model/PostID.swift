/// A client's own id for one post (`{"type":"post","id":"c1",…}`), which makes a retried post
/// idempotent: the broker remembers it per user and room for a window and answers a repeat with
/// the first post's position instead of publishing again.
public struct PostID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// The longest post id accepted, in UTF-8 bytes.
    public static let maximumLength = 64

    /// Checks a client-supplied id: 1 to ``maximumLength`` bytes of printable ASCII
    /// (no spaces or control characters), so it can sit in a Redis key and a log line as it is.
    public init(validating text: String) throws(ChatError) {
        guard !text.isEmpty, text.utf8.count <= Self.maximumLength,
              text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { throw .invalidMessage("post id must be 1 to \(Self.maximumLength) printable ASCII characters without spaces") }
        self.rawValue = text
    }

    /// An id known to be valid (tests, ids this process made).
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
}
