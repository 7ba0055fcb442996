import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChatTransport

/// The frame codec on an `EmbeddedChannel`: wire bytes in, frames out; frames in, wire bytes out.
@Suite struct WebSocketFrameCodecTests {
    /// Frames the codec decoded, and errors it fired.
    final class Received: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        var frames: [WebSocketFrame] = []
        var errors: [any Error] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) { frames.append(unwrapInboundIn(data)) }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { errors.append(error) }
    }

    let channel = EmbeddedChannel()
    let received = Received()

    init(maximumFrameBytes: Int = 1 << 16) throws {
        try channel.pipeline.syncOperations.addHandler(WebSocketFrameCodec(maximumFrameBytes: maximumFrameBytes))
        try channel.pipeline.syncOperations.addHandler(received)
    }

    static func wire(_ frames: WebSocketFrame...) -> ByteBuffer {
        var bytes = ByteBuffer()
        for frame in frames { WebSocketFrameEncoderForTests.encode(frame, into: &bytes) }
        return bytes
    }

    @Test func framesAreDecodedWhetherTheyArriveTogetherOrByteByByte() throws {
        let bytes = Self.wire(clientFrame(.text, "hello"), clientFrame(.ping, [1, 2]), clientFrame(.binary, Array(repeating: 7, count: 300)))
        try channel.writeInbound(bytes)
        #expect(received.frames.map(\.opcode) == [.text, .ping, .binary])

        let codec = try WebSocketFrameCodecTests()
        for byte in bytes.readableBytesView { try codec.channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(codec.received.frames.map(\.opcode) == [.text, .ping, .binary])
        #expect(codec.received.frames.map { Array($0.unmaskedData.readableBytesView) } == received.frames.map { Array($0.unmaskedData.readableBytesView) })
        #expect(String(buffer: codec.received.frames[0].unmaskedData) == "hello")
        #expect(codec.received.frames[2].unmaskedData.readableBytes == 300)
    }

    @Test func anIncompleteFrameDoesNotHoldTheReadBuffer() throws {
        var bytes = Self.wire(clientFrame(.text, "held back"))
        let firstPart = bytes.readSlice(length: 5)!
        var read = ByteBuffer()
        read.writeImmutableBuffer(firstPart)
        try channel.writeInbound(read)
        #expect(received.frames.isEmpty)
        // The codec copied what it keeps: the read's storage can be written again without a copy.
        let address = read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        read.clear()
        read.writeInteger(UInt8(0))
        #expect(read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == address)
        try channel.writeInbound(bytes)
        #expect(received.frames.map { String(buffer: $0.unmaskedData) } == ["held back"])
    }

    @Test func aStreamWhoseReadsAlwaysEndInsideAFrameIsDecodedInBoundedMemory() throws {
        let codec = WebSocketFrameCodec(maximumFrameBytes: 1 << 16)
        let stream = EmbeddedChannel()
        let received = Received()
        try stream.pipeline.syncOperations.addHandler(codec)
        try stream.pipeline.syncOperations.addHandler(received)
        var bytes = ByteBuffer()
        for number in 0..<500 { WebSocketFrameEncoderForTests.encode(clientFrame(.text, "message \(number)"), into: &bytes) }
        var largestHeld = 0
        while bytes.readableBytes > 0 {
            try stream.writeInbound(bytes.readSlice(length: min(7, bytes.readableBytes))!)
            largestHeld = max(largestHeld, codec.heldCapacity)
        }
        #expect(received.frames.map { String(buffer: $0.unmaskedData) } == (0..<500).map { "message \($0)" })
        #expect(largestHeld < 256)  // a frame here is under 20 bytes: the consumed ones are dropped
        #expect(codec.heldCapacity == 0)  // nothing held between frames
    }

    @Test func oneLargeFrameInManyReadsIsDecodedWhole() throws {
        let payload = (0..<60_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var bytes = Self.wire(clientFrame(.binary, payload))
        while bytes.readableBytes > 0 { try channel.writeInbound(bytes.readSlice(length: min(1_000, bytes.readableBytes))!) }
        #expect(received.frames.count == 1)
        #expect(Array(try #require(received.frames.first).unmaskedData.readableBytesView) == payload)
    }

    @Test func afterAnOversizeFrameLaterBytesAreReportedNotDecoded() throws {
        let codec = try WebSocketFrameCodecTests(maximumFrameBytes: 16)
        try codec.channel.writeInbound(Self.wire(clientFrame(.text, String(repeating: "x", count: 17))))
        try codec.channel.writeInbound(Self.wire(clientFrame(.connectionClose, closePayload(1000))))
        #expect(codec.received.frames.isEmpty)
        #expect(codec.received.errors.count == 2)
        #expect(codec.received.errors.first as? NIOWebSocketError == .invalidFrameLength)
        guard case .dataReceivedInErrorState(let first, _) = codec.received.errors.last as? ByteToMessageDecoderError else {
            Issue.record("later bytes were not reported: \(codec.received.errors)")
            return
        }
        #expect(first as? NIOWebSocketError == .invalidFrameLength)
    }

    @Test(arguments: [0, 1, 125, 126, 65_535, 65_536])
    func serverFramesAreWrittenAsNIOsDecoderReadsThem(length: Int) throws {
        let payload = ByteBuffer(bytes: (0..<length).map { UInt8(truncatingIfNeeded: $0) })
        try channel.writeOutbound(WebSocketFrame(fin: true, rsv1: length % 2 == 0, opcode: .binary, data: payload))
        let bytes = try #require(try channel.readOutbound(as: ByteBuffer.self))
        // Read back: the codec decodes with NIO's `WebSocketFrameDecoder`, which takes unmasked frames too.
        let reader = try WebSocketFrameCodecTests()
        try reader.channel.writeInbound(bytes)
        let frame = try #require(reader.received.frames.first)
        #expect(frame.fin && frame.opcode == .binary && frame.maskKey == nil)
        #expect(frame.rsv1 == (length % 2 == 0))
        #expect(frame.data == payload)
        let headerBytes = length < 126 ? 2 : length <= 0xFFFF ? 4 : 10
        #expect(bytes.readableBytes == headerBytes + length)
    }
}
