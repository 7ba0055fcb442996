import NIOCore

/// The one writer of a chat message's JSON: socket frames, the Redis payload and the HTTP search
/// results all come from here, so the wire shape has a single owner.
///
/// The seed's form is `{"chatroom":7,"user":"John","message":"hi","timestamp":…,"seq":1}`; the
/// `chat.v2` form and the Redis payload add `"epoch":"…"` after `seq`. Hand-written rather than
/// `JSONEncoder`: the shape is fixed, and this is on the fan-out path (one encoding per message,
/// shared by every recipient), where `JSONEncoder`'s intermediate containers would cost.
/// `ChatMessage`'s `Codable` conformance reads the same shape (and is what tests check against).
public enum ChatMessageJSON {
    /// The whole object: the seed's fields, and `epoch` when `includingEpoch`.
    public static func write(_ message: ChatMessage, includingEpoch: Bool = false, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "{"))
        writeFields(of: message, includingEpoch: includingEpoch, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// The fields without braces (`"chatroom":7,…,"seq":1[,"epoch":"…"]`), for envelopes that add
    /// their own (`{"type":"message",…}`).
    public static func writeFields(of message: ChatMessage, includingEpoch: Bool = false, into buffer: inout ByteBuffer) {
        writeFieldsUpToSeq(room: message.room, user: message.user, text: message.text, timestamp: message.timestamp, into: &buffer)
        buffer.writeString(String(message.seq))
        if includingEpoch { writeEpochField(message.epoch, into: &buffer) }
    }

    /// `,"epoch":"…"`: what follows `seq` in the `chat.v2` form and the Redis payload
    /// (``EncodedChatMessage``).
    public static func writeEpochField(_ epoch: RoomEpoch, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(#","epoch":"#)
        writeString(epoch.rawValue, into: &buffer)
    }

    /// A draft's object up to and including `"seq":`: what the Redis publish script completes
    /// with the seq and the epoch it assigns (``EncodedChatMessage`` is that payload's format).
    public static func writePrefix(of draft: MessageDraft, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "{"))
        writeFieldsUpToSeq(room: draft.room, user: draft.user, text: draft.text, timestamp: draft.timestamp, into: &buffer)
    }

    private static func writeFieldsUpToSeq(room: RoomID, user: UserName, text: String, timestamp: Int64, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(#""chatroom":"#)
        buffer.writeString(String(room.rawValue))
        buffer.writeStaticString(#","user":"#)
        writeString(user.rawValue, into: &buffer)
        buffer.writeStaticString(#","message":"#)
        writeString(text, into: &buffer)
        buffer.writeStaticString(#","timestamp":"#)
        buffer.writeString(String(timestamp))
        buffer.writeStaticString(#","seq":"#)
    }

    /// A JSON string literal; escapes `"`, `\` and control characters (RFC 8259 §7).
    public static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        let utf8 = string.utf8
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            buffer.writeString(string)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString(#"\""#)
                case UInt8(ascii: "\\"): buffer.writeStaticString(#"\\"#)
                case 0x0A: buffer.writeStaticString(#"\n"#)
                case 0x0D: buffer.writeStaticString(#"\r"#)
                case 0x09: buffer.writeStaticString(#"\t"#)
                case 0x08: buffer.writeStaticString(#"\b"#)
                case 0x0C: buffer.writeStaticString(#"\f"#)
                case ..<0x20:
                    buffer.writeStaticString(#"\u00"#)
                    buffer.writeInteger(hexDigit(byte >> 4))
                    buffer.writeInteger(hexDigit(byte & 0x0F))
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
