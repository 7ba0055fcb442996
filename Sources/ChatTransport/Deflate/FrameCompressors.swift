import Metrics
import NIOCore
import Synchronization

/// The server's compressors, one per window size in use, shared by every connection.
///
/// Outgoing messages are compressed without context takeover, so a compressor holds no state
/// between messages and one per window size serves the whole process: no deflater per socket
/// (a zlib deflater is about 260 KB). Compression runs under the lock; it happens once per
/// message and window size, not once per recipient.
public final class FrameCompressors: Sendable {
    let settings: PerMessageDeflateSettings
    private let compressors = Mutex<[UInt8: MessageCompressor]>([:])
    /// `chatd_deflate_compressions_total`: messages compressed; with one-encode fan-out, one per
    /// message and window size, never per recipient.
    private let compressions: Counter

    public init(settings: PerMessageDeflateSettings, metrics: any MetricsFactory = MetricsSystem.factory) {
        self.settings = settings
        self.compressions = Counter(label: "chatd_deflate_compressions_total", dimensions: [], factory: metrics)
    }

    /// A complete frame (FIN, RSV1 set) carrying `payload` compressed for `windowBits`, or nil
    /// when the payload is below the compression threshold or zlib failed (the caller then
    /// sends it uncompressed, which RFC 7692 allows for any message).
    func compressedFrame(payload: ByteBuffer, opcode: UInt8, windowBits: UInt8, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard var frame = compress(payload, windowBits: windowBits, reservingHeader: ChatFrameEncoder.headerReserve, allocator: allocator) else {
            return nil
        }
        ChatFrameEncoder.prependFrameHeader(to: &frame, firstByte: 0xC0 | opcode)  // FIN + RSV1
        return frame
    }

    /// `payload` compressed for `windowBits`, or nil as for ``compressedFrame(payload:opcode:windowBits:allocator:)``.
    func compressedPayload(_ payload: ByteBuffer, windowBits: UInt8, allocator: ByteBufferAllocator) -> ByteBuffer? {
        compress(payload, windowBits: windowBits, reservingHeader: 0, allocator: allocator)
    }

    private func compress(_ payload: ByteBuffer, windowBits: UInt8, reservingHeader: Int, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard payload.readableBytes >= settings.minimumCompressedPayloadBytes else { return nil }
        var output = allocator.buffer(capacity: reservingHeader + payload.readableBytes / 2 + 16)
        output.moveWriterIndex(forwardBy: reservingHeader)
        output.moveReaderIndex(forwardBy: reservingHeader)
        let level = settings.compressionLevel
        let compressed: Bool = compressors.withLock { compressors in
            do {
                let compressor: MessageCompressor
                if let existing = compressors[windowBits] {
                    compressor = existing
                } else {
                    compressor = try MessageCompressor(windowBits: windowBits, level: level)
                    compressors[windowBits] = compressor
                }
                try compressor.compress(payload, into: &output)
                return true
            } catch {
                return false
            }
        }
        guard compressed else { return nil }
        compressions.increment()
        return output
    }
}
