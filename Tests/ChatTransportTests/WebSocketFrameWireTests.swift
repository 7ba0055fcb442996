import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChatTransport

/// Frames to and from bytes (``WebSocketFrameWire``), judged against NIO's own
/// `WebSocketFrameDecoder`, and the socket handler reading them off a byte stream that is cut
/// anywhere.
@Suite struct WebSocketFrameWireTests {
    /// What NIO's decoder reads from `bytes`, and the error it fired, if any.
    static func nioDecoded(_ bytes: ByteBuffer, maximumFrameBytes: Int = 1 << 20) throws -> (frames: [WebSocketFrame], error: (any Error)?) {
        final class Received: ChannelInboundHandler {
            typealias InboundIn = WebSocketFrame
            var frames: [WebSocketFrame] = []
            var error: (any Error)?
            func channelRead(context: ChannelHandlerContext, data: NIOAny) { frames.append(unwrapInboundIn(data)) }
            func errorCaught(context: ChannelHandlerContext, error: any Error) { self.error = self.error ?? error }
        }
        let channel = EmbeddedChannel()
        let received = Received()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maximumFrameBytes)))
        try channel.pipeline.syncOperations.addHandler(received)
        try channel.writeInbound(bytes)
        return (received.frames, received.error)
    }

    static func wire(_ frames: [WebSocketFrame]) -> ByteBuffer {
        var bytes = ByteBuffer()
        for frame in frames { WebSocketFrameEncoderForTests.encode(frame, into: &bytes) }
        return bytes
    }

    static func same(_ a: WebSocketFrame, _ b: WebSocketFrame) -> Bool {
        a.fin == b.fin && a.rsv1 == b.rsv1 && a.rsv2 == b.rsv2 && a.rsv3 == b.rsv3 && a.opcode == b.opcode
            && a.maskKey.map(Array.init) == b.maskKey.map(Array.init) && a.data == b.data
    }

    static let sample: [WebSocketFrame] = [
        clientFrame(.text, "hello"),
        clientFrame(.ping, [1, 2]),
        clientFrame(.binary, Array(repeating: 7, count: 125)),
        clientFrame(.binary, Array(repeating: 8, count: 126)),
        clientFrame(.text, Array(repeating: 0x61, count: 65_535), fin: false, rsv1: true),
        clientFrame(.continuation, Array(repeating: 0x62, count: 65_536)),
        clientFrame(.connectionClose, closePayload(1000, "bye")),
        WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "unmasked")),
        WebSocketFrame(fin: true, rsv2: true, rsv3: true, opcode: WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, data: ByteBuffer()),
        clientFrame(.pong, []),
    ]

    @Test func framesReadAsNIOsDecoderReadsThemWholeOrByteByByte() throws {
        let bytes = Self.wire(Self.sample)
        let expected = try Self.nioDecoded(bytes)
        #expect(expected.error == nil && expected.frames.count == Self.sample.count)

        var whole = bytes
        var frames: [WebSocketFrame] = []
        while let frame = try WebSocketFrameWire.frame(from: &whole, maximumFrameBytes: 1 << 20) { frames.append(frame) }
        #expect(whole.readableBytes == 0)
        #expect(zip(frames, expected.frames).allSatisfy(Self.same) && frames.count == expected.frames.count)

        // Cut anywhere: nothing is read off until the frame is complete.
        var stream = ByteBuffer()
        var cut: [WebSocketFrame] = []
        for byte in bytes.readableBytesView {
            stream.writeInteger(byte)
            let before = stream.readerIndex
            if let frame = try WebSocketFrameWire.frame(from: &stream, maximumFrameBytes: 1 << 20) {
                cut.append(frame)
            } else {
                #expect(stream.readerIndex == before)
            }
        }
        #expect(zip(cut, expected.frames).allSatisfy(Self.same) && cut.count == expected.frames.count)
    }

    @Test func brokenFramesFailWithNIOsErrorsAsSoonAsTheHeaderSaysSo() throws {
        // Over the limit: refused from the header alone, before any payload arrived.
        var header = ByteBuffer(bytes: [0x81, 0x80 | 126, 0x01, 0x00])
        #expect(throws: NIOWebSocketError.invalidFrameLength) { try WebSocketFrameWire.frame(from: &header, maximumFrameBytes: 255) }
        var huge = ByteBuffer(bytes: [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: NIOWebSocketError.invalidFrameLength) { try WebSocketFrameWire.frame(from: &huge, maximumFrameBytes: .max) }
        var fragmentedPing = Self.wire([clientFrame(.ping, [1], fin: false)])
        #expect(throws: NIOWebSocketError.fragmentedControlFrame) { try WebSocketFrameWire.frame(from: &fragmentedPing, maximumFrameBytes: 1 << 16) }
        var longClose = Self.wire([clientFrame(.connectionClose, Array(repeating: 1, count: 126))])
        #expect(throws: NIOWebSocketError.multiByteControlFrameLength) { try WebSocketFrameWire.frame(from: &longClose, maximumFrameBytes: 1 << 16) }
        // The same verdicts as NIO's decoder.
        #expect(try Self.nioDecoded(ByteBuffer(bytes: [0x81, 0x80 | 126, 0x01, 0x00]), maximumFrameBytes: 255).error as? NIOWebSocketError == .invalidFrameLength)
        #expect(try Self.nioDecoded(Self.wire([clientFrame(.ping, [1], fin: false)])).error as? NIOWebSocketError == .fragmentedControlFrame)
    }

    @Test(arguments: [0, 1, 125, 126, 65_535, 65_536])
    func serverFramesAreWrittenAsNIOsDecoderReadsThem(length: Int) throws {
        let payload = ByteBuffer(bytes: (0..<length).map { UInt8(truncatingIfNeeded: $0) })
        let bytes = WebSocketFrameWire.bytes(of: WebSocketFrame(fin: true, rsv1: length % 2 == 0, opcode: .binary, data: payload), allocator: .init())
        let frame = try #require(try Self.nioDecoded(bytes).frames.first)
        #expect(frame.fin && frame.opcode == .binary && frame.maskKey == nil)
        #expect(frame.rsv1 == (length % 2 == 0))
        #expect(frame.data == payload)
        let headerBytes = length < 126 ? 2 : length <= 0xFFFF ? 4 : 10
        #expect(bytes.readableBytes == headerBytes + length)
    }
}

/// The socket handler on raw bytes: frames cut across reads, and what it holds meanwhile.
@Suite struct WebSocketByteStreamTests {
    final class Received {
        var texts: [String] = []
    }

    let channel = EmbeddedChannel()
    let received = Received()
    let handler: WebSocketProtocolHandler

    init(maximumMessageBytes: Int = 1 << 16) throws {
        let received = received
        handler = WebSocketProtocolHandler(
            limits: WebSocketLimits(
                maximumMessageBytes: maximumMessageBytes, maximumPendingMessages: 1_000, closeTimeout: .seconds(5), pingInterval: nil,
                idleTimeout: .seconds(60), maximumMessagesPerSecond: nil
            ),
            deflate: nil, compressors: nil, counters: TransportCounters(), logger: Logger(label: "test"),
            onMessage: { message in
                switch message {
                case .text(let text): received.texts.append(text)
                case .binary(let data): received.texts.append("binary \(data.readableBytes)")
                }
            },
            onClosed: {}
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    func sentFrames() throws -> [WebSocketFrame] {
        var frames: [WebSocketFrame] = []
        while var bytes = try channel.readOutbound(as: ByteBuffer.self) {
            while let frame = try WebSocketFrameWire.frame(from: &bytes, maximumFrameBytes: .max) { frames.append(frame) }
        }
        return frames
    }

    @Test func messagesArriveWhetherTheirFramesComeTogetherOrByteByByte() throws {
        let bytes = WebSocketFrameWireTests.wire([clientFrame(.text, "hello"), clientFrame(.ping, [1, 2]), clientFrame(.binary, Array(repeating: 7, count: 300))])
        try channel.writeInbound(bytes)
        #expect(received.texts == ["hello", "binary 300"])

        let other = try WebSocketByteStreamTests()
        for byte in bytes.readableBytesView { try other.channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(other.received.texts == ["hello", "binary 300"])
        #expect(try other.sentFrames().map(\.opcode) == [.pong], "the ping was answered")
    }

    @Test func anIncompleteFrameDoesNotHoldTheReadBuffer() throws {
        var bytes = WebSocketFrameWireTests.wire([clientFrame(.text, "held back")])
        let firstPart = bytes.readSlice(length: 5)!
        var read = ByteBuffer()
        read.writeImmutableBuffer(firstPart)
        try channel.writeInbound(read)
        #expect(received.texts.isEmpty)
        // The handler copied what it keeps: the read's storage can be written again without a copy.
        let address = read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        read.clear()
        read.writeInteger(UInt8(0))
        #expect(read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == address)
        try channel.writeInbound(bytes)
        #expect(received.texts == ["held back"])
    }

    @Test func aStreamWhoseReadsAlwaysEndInsideAFrameIsReadInBoundedMemory() throws {
        var bytes = WebSocketFrameWireTests.wire((0..<500).map { clientFrame(.text, "message \($0)") })
        var largestHeld = 0
        while bytes.readableBytes > 0 {
            try channel.writeInbound(bytes.readSlice(length: min(7, bytes.readableBytes))!)
            largestHeld = max(largestHeld, handler.heldCapacity)
        }
        #expect(received.texts == (0..<500).map { "message \($0)" })
        #expect(largestHeld < 256)  // a frame here is under 20 bytes: the consumed ones are dropped
        #expect(handler.heldCapacity == 0)  // nothing held between frames
    }

    @Test func oneLargeFrameInManyReadsIsReadWhole() throws {
        let payload = (0..<60_000).map { _ in UInt8(ascii: "a") + UInt8.random(in: 0..<26) }
        var bytes = WebSocketFrameWireTests.wire([clientFrame(.text, payload)])
        while bytes.readableBytes > 0 { try channel.writeInbound(bytes.readSlice(length: min(1_000, bytes.readableBytes))!) }
        #expect(received.texts == [String(decoding: payload, as: UTF8.self)])
    }

    @Test func anOversizeFrameClosesWith1009AndLaterBytesDropTheConnection() throws {
        let small = try WebSocketByteStreamTests(maximumMessageBytes: 16)
        // Only the header of the oversize frame: it is refused before its payload.
        try small.channel.writeInbound(ByteBuffer(bytes: [0x81, 0x80 | 17]))
        #expect(try small.sentFrames().map(\.closeCode) == [1009])
        #expect(small.channel.isActive, "waiting for the peer's close")
        try small.channel.writeInbound(WebSocketFrameWireTests.wire([clientFrame(.connectionClose, closePayload(1000))]))
        #expect(!small.channel.isActive, "nothing after garbage is trusted: dropped, not answered")
        #expect(try small.sentFrames().isEmpty)
        #expect(small.received.texts.isEmpty)
    }
}
