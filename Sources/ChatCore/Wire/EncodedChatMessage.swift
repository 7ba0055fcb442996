import NIOCore

/// A sequenced chat message as bytes: the Redis payload (Pub/Sub, the recent-history stream and
/// the durable chat-log stream all carry it), and what the fan-out frames from without decoding
/// and encoding it again. The one definition of that payload's format.
///
/// The format is ``ChatMessageJSON``'s (the one writer) with the epoch:
///
///     {"chatroom":7,"user":"Ann","message":"hi","timestamp":1700000000000,"seq":12,"epoch":"k3m9q2xa"}
///     '----------------------- the seed's frame, without its "}" ----------''---- the tail ----'
///
/// - the seed's frame (what a seed socket is sent) is the bytes up to the tail, then `}`;
/// - the `chat.v2` envelope is `{"type":"message",` and the bytes after the opening `{`.
///
/// Why the JSON's fixed field layout rather than a binary header in front of it: the payload
/// stays the plain JSON object that any listener of `chatroom:{id}`, the chat-log indexer and
/// servers of the previous release (a rolling upgrade mixes them) read, and the fields the
/// fan-out needs sit at known places: the room first, seq and epoch last (the publish script
/// writes the tail, ``RedisPublishScript``). ``init(parsing:)`` walks the layout once, byte by
/// byte: the strings are only skipped (checking their escapes and UTF-8, so that what is framed
/// is a valid text frame and text cannot fake a field), which costs about as much as copying
/// the bytes and far less than `JSONDecoder`. A post id is not
/// in the payload: no subscriber needs it (the publisher's ack comes from the script's reply).
public struct EncodedChatMessage: Sendable {
    public let room: RoomID
    public let position: MessagePosition
    /// When it was published (milliseconds since 1970): the delivery latency's start.
    public let timestamp: Int64
    /// The whole payload, `{…,"seq":12,"epoch":"…"}`.
    public let bytes: ByteBuffer
    /// How many bytes of ``bytes`` come before the tail `,"epoch":"…"}`.
    private let seedFieldsLength: Int

    /// What the publish script writes after the seq digits: this, the epoch, ``tailClosing``.
    public static let tailOpening: StaticString = #","epoch":""#
    /// What closes the payload after the epoch.
    public static let tailClosing: StaticString = #""}"#

    /// The message encoded by ``ChatMessageJSON`` (the in-memory broker's values, history).
    public init(_ message: ChatMessage, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        var buffer = allocator.buffer(capacity: 96 + message.user.rawValue.utf8.count + message.text.utf8.count)
        buffer.writeInteger(UInt8(ascii: "{"))
        ChatMessageJSON.writeFields(of: message, into: &buffer)
        let seedFieldsLength = buffer.readableBytes
        ChatMessageJSON.writeEpochField(message.epoch, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
        self.room = message.room
        self.position = message.position
        self.timestamp = message.timestamp
        self.bytes = buffer
        self.seedFieldsLength = seedFieldsLength
    }

    /// Reads a payload of this format; `nil` when it is anything else (another publisher's,
    /// an older format, a truncated one). Keeps a view of `payload`'s bytes, no copy.
    public init?(parsing payload: ByteBuffer) {
        guard let layout = payload.withUnsafeReadableBytes({ Self.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self.room = RoomID(layout.room)
        self.position = MessagePosition(epoch: RoomEpoch(rawValue: layout.epoch), seq: layout.seq)
        self.timestamp = layout.timestamp
        self.bytes = payload
        self.seedFieldsLength = layout.seedFieldsLength
    }

    /// The seed's object without its closing brace: `{"chatroom":7,…,"seq":12`.
    public var seedFieldsWithOpeningBrace: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex, length: seedFieldsLength)!
    }

    /// Everything after the opening brace: `"chatroom":7,…,"seq":12,"epoch":"…"}`.
    public var fieldsWithEpochAndClosingBrace: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + 1, length: bytes.readableBytes - 1)!
    }

    /// The seed's JSON object, `{…,"seq":12}`.
    public func writeSeedJSON(into buffer: inout ByteBuffer) {
        buffer.writeImmutableBuffer(seedFieldsWithOpeningBrace)
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// Length of the seed's JSON object.
    public var seedJSONLength: Int { seedFieldsLength + 1 }

    // MARK: Parsing

    private struct Layout {
        var room: Int64
        var timestamp: Int64
        var seq: Int64
        var epoch: String
        var seedFieldsLength: Int
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer) -> Layout? {
        var reader = Reader(bytes: bytes)
        guard reader.expect(#"{"chatroom":"#), let room = reader.integer(),
              reader.expect(#","user":""#), reader.skipString(),
              reader.expect(#","message":""#), reader.skipString(),
              reader.expect(#","timestamp":"#), let timestamp = reader.integer(allowingSign: true),
              reader.expect(#","seq":"#), let seq = reader.integer()
        else { return nil }
        let seedFieldsLength = reader.index
        guard reader.expect(tailOpening) else { return nil }
        let epochStart = reader.index
        while reader.index < bytes.count, RoomEpoch.alphabet.utf8.contains(bytes[reader.index]) { reader.index += 1 }
        let epochEnd = reader.index
        guard (1...RoomEpoch.maximumLength).contains(epochEnd - epochStart), reader.expect(tailClosing), reader.index == bytes.count else {
            return nil
        }
        let epoch = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[epochStart..<epochEnd]), as: UTF8.self)
        return Layout(room: room, timestamp: timestamp, seq: seq, epoch: epoch, seedFieldsLength: seedFieldsLength)
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        mutating func expect(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            let start = index
            let matches = literal.withUTF8Buffer { literal in
                literal.indices.allSatisfy { literal[$0] == bytes[start + $0] }
            }
            if matches { index += count }
            return matches
        }

        /// Up to 18 digits (no overflow), optionally after a `-`, with no leading zero: JSON has
        /// none, and the bytes go out to clients whose `JSON.parse` would refuse `0850`.
        mutating func integer(allowingSign: Bool = false) -> Int64? {
            var negative = false
            if allowingSign, index < bytes.count, bytes[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            let first = index
            var value: Int64 = 0
            var digits = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]), digits < 18 {
                value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                index += 1
                digits += 1
            }
            guard digits > 0, digits == 1 || bytes[first] != UInt8(ascii: "0") else { return nil }
            return negative ? -value : value
        }

        /// A JSON string's contents after its opening quote, through the closing quote: valid
        /// UTF-8 (a text frame must be), no raw control characters, only JSON's escapes.
        mutating func skipString() -> Bool {
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return true
                case UInt8(ascii: "\\"): guard skipEscape() else { return false }
                case ..<0x20: return false
                case ..<0x80: continue
                default: guard skipUTF8Sequence(lead: byte) else { return false }
                }
            }
            return false
        }

        private mutating func skipEscape() -> Bool {
            guard index < bytes.count else { return false }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                return true
            case UInt8(ascii: "u"):
                guard bytes.count - index >= 4 else { return false }
                for _ in 0..<4 {
                    guard Self.isHexDigit(bytes[index]) else { return false }
                    index += 1
                }
                return true
            default:
                return false
            }
        }

        private static func isHexDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
        }

        /// The rest of a multi-byte UTF-8 sequence after its lead byte (RFC 3629: no overlong
        /// forms, no surrogates, nothing above U+10FFFF).
        private mutating func skipUTF8Sequence(lead: UInt8) -> Bool {
            let continuations: Int
            var second: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0xC2...0xDF: continuations = 1
            case 0xE0: continuations = 2; second = 0xA0...0xBF
            case 0xED: continuations = 2; second = 0x80...0x9F
            case 0xE1...0xEF: continuations = 2
            case 0xF0: continuations = 3; second = 0x90...0xBF
            case 0xF1...0xF3: continuations = 3
            case 0xF4: continuations = 3; second = 0x80...0x8F
            default: return false
            }
            guard bytes.count - index >= continuations, second.contains(bytes[index]) else { return false }
            for offset in 1..<continuations where !(0x80...0xBF).contains(bytes[index + offset]) { return false }
            index += continuations
            return true
        }
    }
}
