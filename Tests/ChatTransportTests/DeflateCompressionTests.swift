import ChatTestServices
import CompressNIO
import NIOCore
import Testing

@testable import ChatTransport

/// Compression and inflation of message payloads, with and without context takeover.
@Suite struct DeflateCompressionTests {
    let allocator = ByteBufferAllocator()
    let text = String(repeating: "the quick brown fox jumps over the lazy dog; ", count: 40)

    private func compressed(_ string: String, windowBits: UInt8 = 15) throws -> ByteBuffer {
        var output = allocator.buffer(capacity: 0)
        try MessageCompressor(windowBits: windowBits, level: 6).compress(ByteBuffer(string: string), into: &output)
        return output
    }

    @Test(arguments: [UInt8(8), 9, 12, 15])
    func aCompressedMessageRoundTripsThroughAnInflaterOfTheSameWindow(windowBits: UInt8) throws {
        let payload = try compressed(text, windowBits: windowBits)
        #expect(payload.readableBytes < text.utf8.count / 2 || windowBits == 8)
        #expect(payload.readableBytes < text.utf8.count)
        let inflater = try MessageInflater(windowBits: windowBits, keepsContext: false)
        let inflated = try inflater.inflate(payload, maximumBytes: 1 << 20, allocator: allocator)
        #expect(String(buffer: inflated) == text)
    }

    @Test func oneInflaterWithoutContextInflatesIndependentMessagesInAnyOrder() throws {
        let inflater = try MessageInflater.sharedForCurrentThread()
        for message in ["first " + text, "second " + text, "first " + text] {
            let inflated = try inflater.inflate(try compressed(message), maximumBytes: 1 << 20, allocator: allocator)
            #expect(String(buffer: inflated) == message)
        }
        #expect(try MessageInflater.sharedForCurrentThread() === inflater)
    }

    /// A client that keeps its context refers back to earlier messages: only an inflater that
    /// keeps its window, too, can read the second message.
    @Test func contextTakeoverNeedsAnInflaterThatKeepsItsWindow() throws {
        let client = try ZlibCompressor(algorithm: .deflate, configuration: .init(windowSize: 15))
        func clientSends(_ string: String) throws -> ByteBuffer {
            var input = ByteBuffer(string: string)
            var output = allocator.buffer(capacity: 4096)
            try client.deflate(from: &input, to: &output, flush: .sync)
            output.moveWriterIndex(to: output.writerIndex - 4)
            return output
        }
        let first = try clientSends(text)
        let second = try clientSends(text)
        #expect(second.readableBytes < 20, "the second message is a back-reference to the first")

        let keeping = try MessageInflater(windowBits: 15, keepsContext: true)
        #expect(String(buffer: try keeping.inflate(first, maximumBytes: 1 << 20, allocator: allocator)) == text)
        #expect(String(buffer: try keeping.inflate(second, maximumBytes: 1 << 20, allocator: allocator)) == text)

        let forgetting = try MessageInflater(windowBits: 15, keepsContext: false)
        _ = try forgetting.inflate(first, maximumBytes: 1 << 20, allocator: allocator)
        #expect(throws: MessageInflater.Failure.corrupt) { try forgetting.inflate(second, maximumBytes: 1 << 20, allocator: allocator) }
    }

    @Test func inflatingStopsJustPastTheLimit() throws {
        let bomb = try compressed(String(repeating: "a", count: 1 << 20))
        #expect(bomb.readableBytes < 2_048)
        let inflater = try MessageInflater(windowBits: 15, keepsContext: false)
        #expect(throws: MessageInflater.Failure.tooLarge) { try inflater.inflate(bomb, maximumBytes: 16 * 1024, allocator: allocator) }
        // The shared state was reset: the next message inflates normally.
        #expect(String(buffer: try inflater.inflate(try compressed(text), maximumBytes: 16 * 1024, allocator: allocator)) == text)
    }

    @Test func garbageIsCorrupt() throws {
        let inflater = try MessageInflater(windowBits: 15, keepsContext: false)
        #expect(throws: MessageInflater.Failure.corrupt) {
            try inflater.inflate(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x00, 0x13]), maximumBytes: 1024, allocator: allocator)
        }
    }

    @Test func smallPayloadsAreLeftUncompressedAndLargeOnesFramedWithRSV1() throws {
        let metrics = MeasuredMetrics()
        let compressors = FrameCompressors(settings: PerMessageDeflateSettings(minimumCompressedPayloadBytes: 64), metrics: metrics.factory)
        #expect(compressors.compressedFrame(payload: ByteBuffer(string: "short"), opcode: 1, windowBits: 15, allocator: allocator) == nil)
        let frame = try #require(compressors.compressedFrame(payload: ByteBuffer(string: text), opcode: 1, windowBits: 15, allocator: allocator))
        #expect(frame.getInteger(at: frame.readerIndex, as: UInt8.self) == 0xC1, "FIN + RSV1 + text")
        let payload = ChatFrameEncoder.payload(ofFrame: frame)
        let inflater = try MessageInflater(windowBits: 15, keepsContext: false)
        #expect(String(buffer: try inflater.inflate(payload, maximumBytes: 1 << 20, allocator: allocator)) == text)
        #expect(metrics.int("chatd_deflate_compressions_total") == 1, "the short payload was not compressed")
    }
}
