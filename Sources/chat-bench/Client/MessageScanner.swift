/// Reads the two figures chat-bench needs from a message frame without a JSON decoder:
/// the room's `seq` and the send time the publisher put at the start of the text
/// ("t=<monotonic nanoseconds> p=<publisher> n=<number>"), or that it is a join probe
/// ("j=<monotonic nanoseconds>", ``MessageText/writeJoinProbe(startedAt:into:)``).
enum MessageScanner {
    private static let seqKey: [UInt8] = Array(#""seq""#.utf8)
    private static let messageKey: [UInt8] = Array(#""message""#.utf8)

    struct Fields {
        var seq: UInt64
        var sentAt: UInt64
        /// A member's join probe rather than a published message: not a delivery of the run.
        var isProbe = false
    }

    static func scan(_ bytes: UnsafeRawBufferPointer) -> Fields? {
        guard let seqEnd = find(seqKey, in: bytes), let seq = number(afterKeyEndingAt: seqEnd, in: bytes),
            let messageEnd = find(messageKey, in: bytes),
            let stamp = timestamp(afterKeyEndingAt: messageEnd, in: bytes)
        else { return nil }
        return Fields(seq: seq, sentAt: stamp.value, isProbe: stamp.marker == UInt8(ascii: "j"))
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

    /// The number after the message's opening quote and `t=` (or `j=`), and that letter.
    private static func timestamp(afterKeyEndingAt index: Int, in bytes: UnsafeRawBufferPointer) -> (value: UInt64, marker: UInt8)? {
        var i = skipSeparators(from: index, in: bytes)
        guard i + 2 < bytes.count, bytes[i] == UInt8(ascii: "\""), bytes[i + 1] == UInt8(ascii: "t") || bytes[i + 1] == UInt8(ascii: "j"),
            bytes[i + 2] == UInt8(ascii: "=")
        else { return nil }
        let marker = bytes[i + 1]
        i += 3
        return digits(from: i, in: bytes).map { (value: $0, marker: marker) }
    }

    /// Skips `:` and blanks after a key, and reads digits.
    private static func number(afterKeyEndingAt index: Int, in bytes: UnsafeRawBufferPointer) -> UInt64? {
        digits(from: skipSeparators(from: index, in: bytes), in: bytes)
    }

    private static func skipSeparators(from index: Int, in bytes: UnsafeRawBufferPointer) -> Int {
        var i = index
        while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: ":") { i += 1 }
        return i
    }

    private static func digits(from start: Int, in bytes: UnsafeRawBufferPointer) -> UInt64? {
        var i = start
        var value: UInt64 = 0
        let first = i
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            value = value &* 10 &+ UInt64(bytes[i] &- UInt8(ascii: "0"))
            i += 1
        }
        return i > first ? value : nil
    }
}
