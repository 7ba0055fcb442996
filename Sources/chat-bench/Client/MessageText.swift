import NIOCore

/// The text of a benchmark message: "t=<send time, monotonic ns> p=<publisher> n=<number>",
/// then words of filler up to the size asked for, so a message is as large (and as
/// compressible) as chat text rather than a short token.
struct MessageText {
    let bytes: Int

    private static let words: [String] = [
        "the", "room", "is", "quiet", "tonight", "anyone", "up", "for", "a", "game", "later", "sure", "what", "time",
        "works", "after", "dinner", "maybe", "nine", "sounds", "good", "bring", "snacks", "I", "will", "see", "you", "then",
    ]

    func write(sentAt: UInt64, publisher: Int, number: UInt64, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeString("t=\(sentAt) p=\(publisher) n=\(number)")
        // Start the filler at a different word per message, so messages differ as real ones do.
        var word = Int(number % UInt64(Self.words.count))
        while buffer.writerIndex - start < bytes {
            let next = Self.words[word]
            let room = bytes - (buffer.writerIndex - start) - 1
            guard room > 0 else { break }
            buffer.writeInteger(UInt8(ascii: " "))
            buffer.writeSubstring(next.prefix(room))
            word = (word + 1) % Self.words.count
        }
    }

    /// A joining member's probe, "j=<monotonic ns before its TCP connect>": the member times its
    /// join by its own probe's echo; every member ignores probes when counting deliveries.
    static func writeJoinProbe(startedAt: UInt64, into buffer: inout ByteBuffer) {
        buffer.writeString("j=\(startedAt) join probe")
    }
}
