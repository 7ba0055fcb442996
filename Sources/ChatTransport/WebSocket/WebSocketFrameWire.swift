import NIOCore
import NIOWebSocket

/// RFC 6455 frames to and from bytes, as pure functions: no state between frames.
///
/// Hand-written instead of NIO's `WebSocketFrameDecoder` and `WebSocketFrameEncoder` because
/// those are channel handlers: they fire frames into a pipeline context, so each connection
/// would carry two more handler objects and contexts for its whole life, idle or not (about
/// 180 bytes per connection; docs/performance.md, "An idle connection, byte by byte"). Here
/// ``WebSocketProtocolHandler`` parses the bytes it reads itself. The rules are NIO's decoder's:
/// a frame longer than the limit is refused as soon as its header is read (not after its
/// payload), a 64-bit length with the top bit set is invalid, and a control frame must be
/// final and at most 125 bytes; everything else (reserved bits, masking, opcodes) is the
/// ``InboundMessageAssembler``'s to judge. The fuzzer `FuzzInboundFrames` feeds it arbitrary bytes.
enum WebSocketFrameWire {
    /// The first whole frame at the front of `buffer`, read off it; nil (and `buffer`
    /// untouched) while the frame is incomplete. Throws NIO's errors for a frame over
    /// `maximumFrameBytes` (`.invalidFrameLength`) and for a broken control frame.
    static func frame(from buffer: inout ByteBuffer, maximumFrameBytes: Int) throws(NIOWebSocketError) -> WebSocketFrame? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self), let second = buffer.getInteger(at: start + 1, as: UInt8.self) else {
            return nil
        }
        var offset = start + 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let word = buffer.getInteger(at: offset, as: UInt16.self) else { return nil }
            length = Int(word)
            offset += 2
        } else if length == 127 {
            guard let qword = buffer.getInteger(at: offset, as: UInt64.self) else { return nil }
            guard qword <= UInt64(Int.max) else { throw .invalidFrameLength }
            length = Int(qword)
            offset += 8
        }
        guard length <= maximumFrameBytes else { throw .invalidFrameLength }
        let isControl = first & 0x08 != 0
        if isControl, first & 0x80 == 0 { throw .fragmentedControlFrame }
        if isControl, length > 125 { throw .multiByteControlFrameLength }
        var maskKey: WebSocketMaskingKey?
        if second & 0x80 != 0 {
            guard let key = buffer.viewBytes(at: offset, length: 4) else { return nil }
            maskKey = WebSocketMaskingKey(key)
            offset += 4
        }
        guard buffer.readableBytes - (offset - start) >= length else { return nil }
        buffer.moveReaderIndex(to: offset)
        let data = buffer.readSlice(length: length)!
        return WebSocketFrame(
            fin: first & 0x80 != 0, rsv1: first & 0x40 != 0, rsv2: first & 0x20 != 0, rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!, maskKey: maskKey, data: data
        )
    }

    /// A frame as the server sends it, header and payload in one buffer: unmasked unless the
    /// frame has a mask key, then the extension data and the application data.
    static func bytes(of frame: WebSocketFrame, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = frame.length
        var bytes = allocator.buffer(capacity: 14 + length)
        var first = UInt8(webSocketOpcode: frame.opcode)
        if frame.fin { first |= 0x80 }
        if frame.rsv1 { first |= 0x40 }
        if frame.rsv2 { first |= 0x20 }
        if frame.rsv3 { first |= 0x10 }
        bytes.writeInteger(first)
        let maskBit: UInt8 = frame.maskKey == nil ? 0 : 0x80
        switch length {
        case ..<126:
            bytes.writeInteger(UInt8(length) | maskBit)
        case ...0xFFFF:
            bytes.writeInteger(126 | maskBit)
            bytes.writeInteger(UInt16(length))
        default:
            bytes.writeInteger(127 | maskBit)
            bytes.writeInteger(UInt64(length))
        }
        let payloadStart: Int
        if let key = frame.maskKey {
            bytes.writeBytes(key)
            payloadStart = bytes.writerIndex
        } else {
            payloadStart = -1
        }
        if var extensionData = frame.extensionData { bytes.writeBuffer(&extensionData) }
        var data = frame.data
        bytes.writeBuffer(&data)
        if let key = frame.maskKey, payloadStart >= 0 {
            var payload = bytes.getSlice(at: payloadStart, length: length)!
            payload.webSocketMask(key)
            bytes.setBuffer(payload, at: payloadStart)
        }
        return bytes
    }
}
