import ChatTestServices
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChatTransport

/// permessage-deflate and the per-connection limits in the protocol handler.
@Suite struct WebSocketDeflateAndLimitTests {
    let text = String(repeating: "compress me, please. ", count: 2)  // 42 bytes: fits the 64-byte limit

    private func compressed(_ string: String) throws -> [UInt8] {
        var output = ByteBuffer()
        try MessageCompressor(windowBits: 15, level: 6).compress(ByteBuffer(string: string), into: &output)
        return Array(output.readableBytesView)
    }

    @Test func aCompressedTextMessageIsInflatedWhenDeflateWasNegotiated() throws {
        let socket = try WebSocketProtocolHandlerTests(deflate: NegotiatedDeflate(clientNoContextTakeover: true))
        let payload = try compressed(text)
        try socket.channel.writeInbound(clientFrame(.text, Array(payload.prefix(5)), fin: false, rsv1: true))
        try socket.channel.writeInbound(clientFrame(.continuation, Array(payload.dropFirst(5))))
        try socket.channel.writeInbound(clientFrame(.text, "plain messages stay allowed"))
        #expect(socket.session.texts == [text, "plain messages stay allowed"])
    }

    @Test func aClientKeepingItsContextGetsAnInflaterOfItsOwn() throws {
        let socket = try WebSocketProtocolHandlerTests(deflate: NegotiatedDeflate(clientNoContextTakeover: false))
        for _ in 0..<3 {
            try socket.channel.writeInbound(clientFrame(.text, try compressed(text), rsv1: true))
        }
        #expect(socket.session.texts == [text, text, text])
    }

    @Test func rsv1WithoutNegotiationOrOnAContinuationIs1002() throws {
        let plain = try WebSocketProtocolHandlerTests()
        try plain.channel.writeInbound(clientFrame(.text, try compressed(text), rsv1: true))
        #expect(try plain.sentFrames().map(\.closeCode) == [1002])

        let deflating = try WebSocketProtocolHandlerTests(deflate: NegotiatedDeflate(clientNoContextTakeover: true))
        try deflating.channel.writeInbound(clientFrame(.text, [0x01], fin: false, rsv1: true))
        try deflating.channel.writeInbound(clientFrame(.continuation, [0x02], rsv1: true))
        #expect(try deflating.sentFrames().map(\.closeCode) == [1002])
    }

    @Test func aMessageLargerThanTheLimitOnceInflatedIs1009() throws {
        let socket = try WebSocketProtocolHandlerTests(deflate: NegotiatedDeflate(clientNoContextTakeover: true))
        let bomb = try compressed(String(repeating: "z", count: 10_000))
        #expect(bomb.count < 64)
        try socket.channel.writeInbound(clientFrame(.text, bomb, rsv1: true))
        #expect(try socket.sentFrames().map(\.closeCode) == [1009])
        #expect(socket.session.texts.isEmpty)
    }

    @Test func corruptCompressedDataIs1002AndInvalidUTF8InsideIs1007() throws {
        let corrupt = try WebSocketProtocolHandlerTests(deflate: NegotiatedDeflate(clientNoContextTakeover: true))
        try corrupt.channel.writeInbound(clientFrame(.text, [0xFF, 0xFF, 0xFF, 0x00], rsv1: true))
        #expect(try corrupt.sentFrames().map(\.closeCode) == [1002])

        let badText = try WebSocketProtocolHandlerTests(deflate: NegotiatedDeflate(clientNoContextTakeover: true))
        var invalid = ByteBuffer()
        try MessageCompressor(windowBits: 15, level: 6).compress(ByteBuffer(bytes: [0x68, 0xC3, 0x28]), into: &invalid)
        try badText.channel.writeInbound(clientFrame(.text, Array(invalid.readableBytesView), rsv1: true))
        #expect(try badText.sentFrames().map(\.closeCode) == [1007])
    }

    @Test func sendCompressesLargeMessagesOnlyAndNeverControlFrames() throws {
        let socket = try WebSocketProtocolHandlerTests(deflate: NegotiatedDeflate(clientNoContextTakeover: true))
        socket.handler.send(.text("tiny"))
        socket.handler.send(.text(text))
        try socket.channel.writeInbound(clientFrame(.ping, text))
        let frames = try socket.sentFrames()
        #expect(frames.map(\.opcode) == [.text, .text, .pong])
        #expect(frames.map(\.rsv1) == [false, true, false])
        let inflater = try MessageInflater(windowBits: 15, keepsContext: false)
        #expect(String(buffer: try inflater.inflate(frames[1].data, maximumBytes: 1024, allocator: .init())) == text)
    }

    @Test func tooManyMessagesPerSecondCloseWith1008AndAreCounted() throws {
        let socket = try WebSocketProtocolHandlerTests()  // 5 per second
        for number in 0..<6 {
            try socket.channel.writeInbound(clientFrame(.text, "m\(number)"))
            socket.handler.messageHandled()
        }
        #expect(socket.session.texts.count == 5)
        #expect(try socket.sentFrames().map(\.closeCode) == [1008])
        #expect(socket.counters.rateLimitedClosed == 1)
    }

    @Test func aClientToldOfItsRefusalsIsRefusedOverTheRateAndClosedOnlyBeyondTwiceIt() throws {
        let socket = try WebSocketProtocolHandlerTests()  // 5 per second
        var refused: [String] = []
        socket.handler.onRateLimited = { message in
            if case .text(let text) = message { refused.append(text) }
        }
        for number in 0..<10 {
            try socket.channel.writeInbound(clientFrame(.text, "m\(number)"))
        }
        for _ in 0..<5 { socket.handler.messageHandled() }
        #expect(socket.session.texts == (0..<5).map { "m\($0)" })
        #expect(refused == (5..<10).map { "m\($0)" }, "refused, not posted, and the socket stays open")
        #expect(try socket.sentFrames().isEmpty)
        try socket.channel.writeInbound(clientFrame(.text, "m10"))
        #expect(try socket.sentFrames().map(\.closeCode) == [1008], "beyond twice the rate it is closed")
        #expect(socket.counters.rateLimitedClosed == 1)
    }

    @Test func theRateRefillsOverTime() {
        var limiter = MessageRateLimiter(messagesPerSecond: 2)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var admitted: [Bool] = []
        for offset in [TimeAmount.zero, .zero, .zero, .milliseconds(500), .milliseconds(500), .seconds(10), .seconds(10), .seconds(10)] {
            admitted.append(limiter.admit(now: start + offset))
        }
        // Two at once, then one per half second; after a long pause, bursts are capped at one second's worth.
        #expect(admitted == [true, true, false, true, false, true, true, false])
    }

    @Test func aSilentPeerIsPingedThenClosedAtTheIdleTimeout() throws {
        let socket = try WebSocketProtocolHandlerTests()  // ping every 10 s, idle timeout 30 s
        let loop = socket.channel.embeddedEventLoop
        loop.advanceTime(by: .seconds(10))
        #expect(try socket.sentFrames().map(\.opcode) == [.ping])
        loop.advanceTime(by: .seconds(10))
        #expect(try socket.sentFrames().map(\.opcode) == [.ping])
        loop.advanceTime(by: .seconds(10))
        #expect(try socket.sentFrames().map(\.closeCode) == [1001])
        #expect(!socket.channel.isActive, "a peer that answers no ping will not answer a close either")
        #expect(socket.counters.idleTimeoutsClosed == 1)
    }

    @Test func theCredentialsExpiryClosesWith4001BetweenPingsOnTheSameTimer() throws {
        // Pings every 10 s; the credential expires at 25 s, so after two pings, before the third.
        let socket = try WebSocketProtocolHandlerTests(credentialExpiresIn: .seconds(25))
        let loop = socket.channel.embeddedEventLoop
        loop.advanceTime(by: .seconds(10))
        #expect(try socket.sentFrames().map(\.opcode) == [.ping])
        try socket.channel.writeInbound(clientFrame(.pong, []))
        loop.advanceTime(by: .seconds(10))
        #expect(try socket.sentFrames().isEmpty, "a peer heard from is not pinged")
        loop.advanceTime(by: .seconds(4))
        #expect(try socket.sentFrames().isEmpty)
        loop.advanceTime(by: .seconds(1))
        #expect(try socket.sentFrames().map(\.closeCode) == [4001])
        #expect(socket.counters.expiredCredentialsClosed == 1)
        // The close timeout (5 s) replaced the ping tick: an unanswered close drops the connection.
        loop.advanceTime(by: .seconds(5))
        #expect(!socket.channel.isActive)
        #expect(try socket.sentFrames().isEmpty, "no ping after the close frame")

        let soon = try WebSocketProtocolHandlerTests(credentialExpiresIn: .seconds(3))
        soon.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(try soon.sentFrames().map(\.closeCode) == [4001], "before the first ping")
    }

    @Test func aPongOrAnyFrameKeepsThePeerAlive() throws {
        let socket = try WebSocketProtocolHandlerTests()
        let loop = socket.channel.embeddedEventLoop
        for _ in 0..<6 {
            loop.advanceTime(by: .seconds(10))
            for frame in try socket.sentFrames() where frame.opcode == .ping {
                try socket.channel.writeInbound(clientFrame(.pong, Array(frame.data.readableBytesView)))
            }
        }
        #expect(socket.channel.isActive)
        #expect(socket.counters.idleTimeoutsClosed == 0)
    }
}
