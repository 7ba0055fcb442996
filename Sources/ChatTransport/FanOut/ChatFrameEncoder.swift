import ChatCore
import NIOCore

/// Turns a ``ChatMessage`` into a complete, unmasked server-to-client WebSocket text frame in
/// one buffer: header and JSON payload together, so each recipient's write is one `ByteBuffer`
/// (shared copy-on-write storage, no per-recipient allocation) and one iovec.
///
/// Hand-written rather than `JSONEncoder` plus NIO's `WebSocketFrameEncoder`: the encoder would
/// allocate a header buffer per recipient write, and `JSONEncoder` allocates intermediate
/// containers per message. The payload shape is fixed (the seed's wire format), so a direct
/// writer is short and is checked against `JSONDecoder` in the tests.
public enum ChatFrameEncoder {
    /// Bytes reserved in front of the payload for the largest frame header (2 + 8).
    static let headerReserve = 10

    /// The message as a text frame: `{"chatroom":7,"user":"John","message":"hi","timestamp":…,"seq":…}`.
    public static func textFrame(for message: ChatMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headerReserve + 80 + message.user.rawValue.utf8.count + message.text.utf8.count)
        buffer.moveWriterIndex(forwardBy: headerReserve)
        buffer.moveReaderIndex(forwardBy: headerReserve)
        writeJSON(message, into: &buffer)
        prependFrameHeader(to: &buffer, firstByte: 0x81)  // FIN + text
        return buffer
    }

    /// The payload of an unmasked server frame made here (a slice: no copy).
    static func payload(ofFrame frame: ByteBuffer) -> ByteBuffer {
        let lengthByte = frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self)! & 0x7F
        let headerLength = lengthByte == 127 ? 10 : lengthByte == 126 ? 4 : 2
        return frame.getSlice(at: frame.readerIndex + headerLength, length: frame.readableBytes - headerLength)!
    }

    /// Writes a frame header (`firstByte` holds FIN, RSV and opcode) into the bytes reserved
    /// in front of the readable payload.
    static func prependFrameHeader(to buffer: inout ByteBuffer, firstByte: UInt8) {
        let length = buffer.readableBytes
        let start: Int
        switch length {
        case ..<126:
            start = buffer.readerIndex - 2
            buffer.setInteger(UInt8(length), at: start + 1)
        case ...0xFFFF:
            start = buffer.readerIndex - 4
            buffer.setInteger(UInt8(126), at: start + 1)
            buffer.setInteger(UInt16(length), at: start + 2)
        default:
            start = buffer.readerIndex - 10
            buffer.setInteger(UInt8(127), at: start + 1)
            buffer.setInteger(UInt64(length), at: start + 2)
        }
        buffer.setInteger(firstByte, at: start)
        buffer.moveReaderIndex(to: start)
    }

    static func writeJSON(_ message: ChatMessage, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"chatroom":"#)
        buffer.writeString(String(message.room.rawValue))
        buffer.writeStaticString(#","user":"#)
        writeJSONString(message.user.rawValue, into: &buffer)
        buffer.writeStaticString(#","message":"#)
        writeJSONString(message.text, into: &buffer)
        buffer.writeStaticString(#","timestamp":"#)
        buffer.writeString(String(message.timestamp))
        buffer.writeStaticString(#","seq":"#)
        buffer.writeString(String(message.seq))
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// A JSON string literal; escapes `"`, `\` and control characters (RFC 8259 §7).
    static func writeJSONString(_ string: String, into buffer: inout ByteBuffer) {
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
