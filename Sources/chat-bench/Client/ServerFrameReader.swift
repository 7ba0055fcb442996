import NIOCore

/// Reads the frames a server sends (unmasked, RFC 6455 §5.2) straight off the socket's bytes,
/// and writes the client's masked frames.
///
/// Written by hand for the load generator's own CPU: with client and server on one machine,
/// every microsecond chat-bench spends per delivery is taken from the server it measures.
/// NIO's `WebSocketFrameDecoder` behind a `ByteToMessageHandler` allocated a `WebSocketFrame`
/// and ran the pipeline once more per frame (docs/performance.md, chat-bench's own profile).
struct ServerFrameReader {
    struct Frame {
        var fin: Bool
        var rsv1: Bool
        var opcode: UInt8
        var payload: ByteBuffer
    }

    enum Failure: Error {
        /// A masked server frame, or one longer than the limit.
        case badFrame
    }

    static let text: UInt8 = 0x1
    static let continuation: UInt8 = 0x0
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA

    let maximumPayload: Int
    /// Bytes of a frame not complete yet.
    private var pending: ByteBuffer?

    init(maximumPayload: Int) {
        self.maximumPayload = maximumPayload
    }

    /// Calls `body` for every complete frame in what was read so far plus `bytes`.
    mutating func read(_ bytes: ByteBuffer, _ body: (Frame) -> Void) throws(Failure) {
        var buffer: ByteBuffer
        if var pending = self.pending {
            var bytes = bytes
            pending.writeBuffer(&bytes)
            buffer = pending
            self.pending = nil
        } else {
            buffer = bytes
        }
        while let frame = try Self.next(from: &buffer, maximumPayload: maximumPayload) { body(frame) }
        if buffer.readableBytes > 0 { pending = buffer }
    }

    /// The next complete frame, consumed from `buffer`; nil when more bytes are needed.
    private static func next(from buffer: inout ByteBuffer, maximumPayload: Int) throws(Failure) -> Frame? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self), let second = buffer.getInteger(at: start + 1, as: UInt8.self) else {
            return nil
        }
        guard second & 0x80 == 0 else { throw .badFrame }  // servers never mask
        var header = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = Int(extended)
            header = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard extended <= UInt64(maximumPayload) else { throw .badFrame }
            length = Int(extended)
            header = 10
        }
        guard length <= maximumPayload else { throw .badFrame }
        guard buffer.readableBytes >= header + length else { return nil }
        buffer.moveReaderIndex(forwardBy: header)
        let payload = buffer.readSlice(length: length)!
        return Frame(fin: first & 0x80 != 0, rsv1: first & 0x40 != 0, opcode: first & 0x0F, payload: payload)
    }

    /// A final, masked client frame (RFC 6455 §5.3: every client frame is masked).
    static func clientFrame(opcode: UInt8, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = payload.readableBytes
        var frame = allocator.buffer(capacity: length + 14)
        frame.writeInteger(0x80 | opcode)
        switch length {
        case ..<126:
            frame.writeInteger(0x80 | UInt8(length))
        case ...0xFFFF:
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(length))
        default:
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(length))
        }
        let mask = (UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255))
        frame.writeMultipleIntegers(mask.0, mask.1, mask.2, mask.3)
        let key = [mask.0, mask.1, mask.2, mask.3]
        payload.withUnsafeReadableBytes { bytes in
            for (index, byte) in bytes.enumerated() { frame.writeInteger(byte ^ key[index & 3]) }
        }
        return frame
    }
}
