/// Reads the two figures chat-bench needs from a message frame without a JSON decoder:
/// the room's `seq` and the send time the publisher put at the start of the text
/// ("t=<monotonic nanoseconds> p=<publisher> n=<number>").
enum MessageScanner {
    private static let seqKey: [UInt8] = Array(#""seq""#.utf8)
    private static let messageKey: [UInt8] = Array(#""message""#.utf8)

    struct Fields {
        var seq: UInt64
        var sentAt: UInt64
    }

    static func scan(_ bytes: UnsafeRawBufferPointer) -> Fields? {
        guard let seqEnd = find(seqKey, in: bytes), let seq = number(afterKeyEndingAt: seqEnd, in: bytes, prefix: nil),
            let messageEnd = find(messageKey, in: bytes),
            let sentAt = number(afterKeyEndingAt: messageEnd, in: bytes, prefix: UInt8(ascii: "\""))
        else { return nil }
        return Fields(seq: seq, sentAt: sentAt)
    }

    /// The index just past the first occurrence of `pattern`.
    private static func find(_ pattern: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        var start = 0
        let last = bytes.count - pattern.count
        outer: while start <= last {
            for offset in 0..<pattern.count where bytes[start + offset] != pattern[offset] {
                start += 1
                continue outer
            }
            return start + pattern.count
        }
        return nil
    }

    /// Skips `:` and blanks after a key (then the opening quote and `t=` for the message), and reads digits.
    private static func number(afterKeyEndingAt index: Int, in bytes: UnsafeRawBufferPointer, prefix: UInt8?) -> UInt64? {
        var i = index
        while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: ":") { i += 1 }
        if let prefix {
            guard i + 2 < bytes.count, bytes[i] == prefix, bytes[i + 1] == UInt8(ascii: "t"), bytes[i + 2] == UInt8(ascii: "=") else { return nil }
            i += 3
        }
        var value: UInt64 = 0
        let first = i
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            value = value &* 10 &+ UInt64(bytes[i] &- UInt8(ascii: "0"))
            i += 1
        }
        return i > first ? value : nil
    }
}
