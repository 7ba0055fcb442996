import CompressNIO
import NIOCore
import NIOPosix

/// Inflates permessage-deflate payloads, never past a size limit (a small compressed frame
/// can expand a thousandfold: the limit applies to what comes out, not what goes in).
final class MessageInflater {
    enum Failure: Error, Equatable {
        case tooLarge
        case corrupt
    }

    private let zlib: ZlibDecompressor
    /// Whether the window carries over between messages (the client kept its context).
    private let keepsContext: Bool

    init(windowBits: UInt8, keepsContext: Bool) throws {
        self.zlib = try ZlibDecompressor(algorithm: .deflate, windowSize: Int32(windowBits))
        self.keepsContext = keepsContext
    }

    /// One inflater per event-loop thread for clients that reset their context on every
    /// message: they need no state of their own between messages, so connections share it.
    /// Safe although the inflater is not `Sendable`: each thread only ever sees its own.
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<MessageInflater>()

    /// This thread's shared inflater (window 15, which inflates any smaller window too).
    static func sharedForCurrentThread() throws -> MessageInflater {
        if let inflater = perThread.currentValue { return inflater }
        let inflater = try MessageInflater(windowBits: 15, keepsContext: false)
        perThread.currentValue = inflater
        return inflater
    }

    /// The message in `payload` (the frames' data without `00 00 ff ff`), inflated.
    func inflate(_ payload: ByteBuffer, maximumBytes: Int, allocator: ByteBufferAllocator) throws(Failure) -> ByteBuffer {
        var input = allocator.buffer(capacity: payload.readableBytes + 4)
        input.writeImmutableBuffer(payload)
        input.writeInteger(UInt32(0x0000_FFFF))
        var output = allocator.buffer(capacity: min(maximumBytes + 1, max(256, payload.readableBytes * 4)))
        defer { if !keepsContext { try? zlib.reset() } }
        while true {
            let before = (input.readerIndex, output.writerIndex)
            do {
                try zlib.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // Output full: grow it, but only just past the limit, so a bomb is caught early.
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                break  // everything given was consumed and nothing more can come out
            } catch {
                try? zlib.reset()
                throw .corrupt
            }
            if output.readableBytes > maximumBytes {
                try? zlib.reset()
                throw .tooLarge
            }
            if input.readableBytes == 0 && output.writableBytes > 0 { break }
            if before == (input.readerIndex, output.writerIndex) {
                // No progress with input left: the client ended its deflate stream (BFINAL)
                // inside the message. What followed cannot be inflated in this stream.
                try? zlib.reset()
                if input.readableBytes > 4 { throw .corrupt }
                break
            }
            if output.writableBytes == 0 {
                output.reserveCapacity(minimumWritableBytes: min(maximumBytes + 1 - output.readableBytes, max(1024, output.readableBytes)))
            }
        }
        return output
    }
}
