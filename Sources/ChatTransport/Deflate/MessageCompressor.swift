import CompressNIO
import NIOCore

/// Compresses one message payload at a time for permessage-deflate with no context takeover:
/// each call starts from an empty window, so its output is valid for every recipient that
/// negotiated the same (or a larger) window, whatever they received before.
final class MessageCompressor {
    let windowBits: UInt8
    private let zlib: ZlibCompressor

    /// zlib cannot make raw deflate streams with a 256-byte window (8 bits). For those clients
    /// the compressor runs Huffman-only: without back-references the output suits any window.
    init(windowBits: UInt8, level: Int32) throws {
        self.windowBits = windowBits
        let configuration = ZlibConfiguration(
            windowSize: Int32(max(windowBits, 9)),
            compressionLevel: level,
            memoryLevel: 8,
            strategy: windowBits == 8 ? .huffmanOnly : .default
        )
        self.zlib = try ZlibCompressor(algorithm: .deflate, configuration: configuration)
    }

    /// Appends the compressed form of `payload` to `output`, without the final empty block's
    /// `00 00 ff ff` (RFC 7692 §7.2.1), which the receiver adds back.
    func compress(_ payload: ByteBuffer, into output: inout ByteBuffer) throws {
        try zlib.reset()
        var input = payload
        output.reserveCapacity(minimumWritableBytes: zlib.maxSize(from: input))
        try zlib.deflate(from: &input, to: &output, flush: .sync)
        precondition(input.readableBytes == 0, "deflate kept input despite a large enough output")
        let tail = output.getInteger(at: output.writerIndex - 4, as: UInt32.self)
        precondition(tail == 0x0000_FFFF, "a sync flush ends with an empty stored block")
        output.moveWriterIndex(to: output.writerIndex - 4)
    }
}
