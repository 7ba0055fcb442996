import ChatCore
import NIOCore

/// Turns a ``ChatMessage`` into a complete, unmasked server-to-client WebSocket text frame in
/// one buffer: header and JSON payload together, so each recipient's write is one `ByteBuffer`
/// (shared copy-on-write storage, no per-recipient allocation) and one iovec.
///
/// Hand-written rather than NIO's `WebSocketFrameEncoder`, which would allocate a header buffer
/// per recipient write. The payload is the seed's form, written by ``ChatMessageJSON`` (the one
/// owner of the message JSON) and checked against `JSONDecoder` in the tests.
public enum ChatFrameEncoder {
    /// Bytes reserved in front of the payload for the largest frame header (2 + 8).
    package static let headerReserve = 10

    /// The message as a text frame: `{"chatroom":7,"user":"John","message":"hi","timestamp":…,"seq":…}`.
    public static func textFrame(for message: ChatMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headerReserve + 80 + message.user.rawValue.utf8.count + message.text.utf8.count)
        buffer.moveWriterIndex(forwardBy: headerReserve)
        buffer.moveReaderIndex(forwardBy: headerReserve)
        writeJSON(message, into: &buffer)
        prependFrameHeader(to: &buffer, firstByte: 0x81)  // FIN + text
        return buffer
    }

    /// The same text frame from the message's payload bytes (as Redis delivered them): the
    /// seed's part of the payload copied once behind the header, nothing decoded or encoded.
    public static func textFrame(for message: EncodedChatMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headerReserve + message.seedJSONLength)
        buffer.moveWriterIndex(forwardBy: headerReserve)
        buffer.moveReaderIndex(forwardBy: headerReserve)
        message.writeSeedJSON(into: &buffer)
        prependFrameHeader(to: &buffer, firstByte: 0x81)  // FIN + text
        return buffer
    }

    /// The payload of an unmasked server frame made here (a slice: no copy).
    package static func payload(ofFrame frame: ByteBuffer) -> ByteBuffer {
        let lengthByte = frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self)! & 0x7F
        let headerLength = lengthByte == 127 ? 10 : lengthByte == 126 ? 4 : 2
        return frame.getSlice(at: frame.readerIndex + headerLength, length: frame.readableBytes - headerLength)!
    }

    /// Writes a frame header (`firstByte` holds FIN, RSV and opcode) into the bytes reserved
    /// in front of the readable payload.
    package static func prependFrameHeader(to buffer: inout ByteBuffer, firstByte: UInt8) {
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
        ChatMessageJSON.write(message, into: &buffer)
    }
}
