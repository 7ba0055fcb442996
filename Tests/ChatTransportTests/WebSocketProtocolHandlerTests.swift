import ChatTestServices
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChatTransport

/// The WebSocket protocol handler on an `EmbeddedChannel`: frames in, frames and messages out.
@Suite struct WebSocketProtocolHandlerTests {
    /// What the handler handed on.
    final class Session {
        var texts: [String] = []
        var binaries: [ByteBuffer] = []
        var closed = 0
    }

    static let limits = WebSocketLimits(
        maximumMessageBytes: 64,
        maximumPendingMessages: 2,
        closeTimeout: .seconds(5),
        pingInterval: .seconds(10),
        idleTimeout: .seconds(30),
        maximumMessagesPerSecond: 5
    )

    let channel = EmbeddedChannel()
    let counter = IOCounter()
    let session = Session()
    let counters = TransportCounters.measured()
    let handler: WebSocketProtocolHandler

    /// `credentialExpiresIn`: the socket's credential expires that long after the start.
    init(limits: WebSocketLimits = Self.limits, deflate: NegotiatedDeflate? = nil, credentialExpiresIn: TimeAmount? = nil) throws {
        let session = session
        handler = WebSocketProtocolHandler(
            limits: limits,
            deflate: deflate,
            compressors: FrameCompressors(settings: PerMessageDeflateSettings(minimumCompressedPayloadBytes: 16)),
            counters: counters,
            logger: Logger(label: "test"),
            onMessage: { message in
                switch message {
                case .text(let text): session.texts.append(text)
                case .binary(let data): session.binaries.append(data)
                }
            },
            onClosed: { session.closed += 1 }
        )
        handler.credentialExpiry = credentialExpiresIn.map { channel.embeddedEventLoop.now + $0 }
        try channel.pipeline.syncOperations.addHandler(FrameBytes())
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    func sentFrames() throws -> [WebSocketFrame] {
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readOutbound(as: WebSocketFrame.self) { frames.append(frame) }
        return frames
    }

    @Test func textMessagesArePostedAndTheCloseReportedOnce() throws {
        try channel.writeInbound(clientFrame(.text, "hello"))
        try channel.writeInbound(clientFrame(.text, "wör", fin: false))
        try channel.writeInbound(clientFrame(.continuation, "ld"))
        #expect(session.texts == ["hello", "wörld"])
        #expect(session.closed == 0)
        _ = try channel.finish()
        #expect(session.closed == 1)
    }

    @Test func pingIsAnsweredWithPongCarryingTheSameData() throws {
        try channel.writeInbound(clientFrame(.ping, "beat"))
        let frames = try sentFrames()
        #expect(frames.count == 1)
        #expect(frames.first?.opcode == .pong)
        #expect(frames.first.map { String(buffer: $0.data) } == "beat")
    }

    struct CloseCase: Sendable, CustomStringConvertible {
        let payload: [UInt8]
        let reply: UInt16
        var description: String { "\(payload) -> \(reply)" }
    }

    static let closeCases: [CloseCase] = [
        CloseCase(payload: closePayload(1000), reply: 1000),
        CloseCase(payload: closePayload(4001, "app"), reply: 4001),
        CloseCase(payload: [], reply: 1000),
        CloseCase(payload: [0x03], reply: 1002),
        CloseCase(payload: closePayload(1005), reply: 1002),
        CloseCase(payload: closePayload(1004), reply: 1002),
        CloseCase(payload: closePayload(999), reply: 1002),
        CloseCase(payload: closePayload(2000), reply: 1002),
        CloseCase(payload: closePayload(1000) + [0xFF, 0xFE], reply: 1007),
    ]

    @Test(arguments: closeCases)
    func aClientCloseIsAnsweredAndTheConnectionDropped(_ close: CloseCase) throws {
        try channel.writeInbound(clientFrame(.connectionClose, close.payload))
        #expect(try sentFrames().map(\.closeCode) == [close.reply])
        #expect(!channel.isActive)
    }

    @Test func invalidUTF8ClosesWith1007AndLaterDataIsIgnored() throws {
        try channel.writeInbound(clientFrame(.text, [0x68, 0xC3, 0x28]))
        try channel.writeInbound(clientFrame(.text, "after"))
        #expect(try sentFrames().map(\.closeCode) == [1007])
        #expect(session.texts == [])
    }

    @Test func binaryMessagesAreHandedOnAsBinary() throws {
        try channel.writeInbound(clientFrame(.binary, [1, 2]))
        #expect(session.binaries == [ByteBuffer(bytes: [1, 2])])
        #expect(try sentFrames().isEmpty)
    }

    @Test func protocolViolationsCloseWith1002AndOversizeWith1009() throws {
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "unmasked")))
        #expect(try sentFrames().map(\.closeCode) == [1002])

        let other = try WebSocketProtocolHandlerTests()
        try other.channel.writeInbound(clientFrame(.text, String(repeating: "x", count: 65)))
        #expect(try other.sentFrames().map(\.closeCode) == [1009])
    }

    @Test func ourCloseWaitsForThePeersThenDrops() throws {
        handler.close(.policyViolation, reason: "bye")
        #expect(try sentFrames().map(\.closeCode) == [1008])
        #expect(channel.isActive)
        try channel.writeInbound(clientFrame(.connectionClose, closePayload(1008)))
        #expect(!channel.isActive)
        #expect(try sentFrames().isEmpty, "no second close frame")
    }

    @Test func anUnansweredCloseTimesOut() throws {
        handler.close(.goingAway, reason: "")
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func shutdownQuiesceSendsGoingAway() throws {
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try sentFrames().map(\.closeCode) == [1001])
    }

    @Test func aPeerThatClosesItsSideWithoutACloseFrameIsDroppedAtOnce() throws {
        try channel.writeInbound(clientFrame(.text, "hello"))
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!channel.isActive)
        #expect(session.texts == ["hello"])
        #expect(session.closed == 1)
    }

    @Test func readingPausesWhileTooManyMessagesAwaitPublishing() throws {
        let baseline = counter.reads
        try channel.writeInbound(clientFrame(.text, "one"))
        try channel.writeInbound(clientFrame(.text, "two"))
        channel.read()
        #expect(counter.reads == baseline, "two pending: the read is held back")
        handler.messageHandled()
        #expect(counter.reads == baseline + 1, "one published: the held read goes out")
        channel.read()
        #expect(counter.reads == baseline + 2)
    }
}
