import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChatTransport

/// The negotiation as a client sees it: the 101 response of the transport's upgrade path.
@Suite struct DeflateUpgradeTests {
    private func upgradeResponse(extensions: [String], deflate: PerMessageDeflateSettings? = .init()) throws -> (head: String, channel: EmbeddedChannel) {
        let channel = EmbeddedChannel()
        try WebSocketEchoServer.configure(
            channel,
            limits: WebSocketLimits(
                maximumMessageBytes: 1 << 16, maximumPendingMessages: 4, closeTimeout: .seconds(1),
                pingInterval: nil, idleTimeout: .seconds(60), maximumMessagesPerSecond: nil
            ),
            compressors: deflate.map { FrameCompressors(settings: $0) },
            counters: TransportCounters(),
            logger: Logger(label: "test")
        )
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        var request = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for value in extensions { request += "Sec-WebSocket-Extensions: \(value)\r\n" }
        request += "\r\n"
        try channel.writeInbound(ByteBuffer(string: request))
        channel.embeddedEventLoop.run()  // the upgrade completes through futures
        var response = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { response += String(buffer: part) }
        return (response, channel)
    }

    private func extensionsHeader(in response: String) -> String? {
        response.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-extensions:") }
            .map { String($0.dropFirst("sec-websocket-extensions:".count)).trimmingCharacters(in: .whitespaces) }
    }

    @Test func aGoodOfferIsAcceptedInThe101() throws {
        let (response, _) = try upgradeResponse(extensions: ["permessage-deflate; client_max_window_bits"])
        #expect(response.hasPrefix("HTTP/1.1 101"))
        #expect(extensionsHeader(in: response) == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func onlyBadOffersUpgradeWithoutCompression() throws {
        let (response, _) = try upgradeResponse(extensions: ["permessage-deflate; server_max_window_bits=99", "x-unknown"])
        #expect(response.hasPrefix("HTTP/1.1 101"))
        #expect(extensionsHeader(in: response) == nil)
    }

    @Test func ofSeveralOffersTheFirstAcceptableOneWins() throws {
        let (response, _) = try upgradeResponse(extensions: [
            "permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=9",
            "permessage-deflate",
        ])
        #expect(extensionsHeader(in: response) == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9")
    }

    @Test func compressionTurnedOffDeclinesEveryOffer() throws {
        let (response, _) = try upgradeResponse(extensions: ["permessage-deflate"], deflate: nil)
        #expect(response.hasPrefix("HTTP/1.1 101"))
        #expect(extensionsHeader(in: response) == nil)
    }

    @Test func afterTheUpgradeCompressedMessagesAreEchoedCompressed() throws {
        let (_, channel) = try upgradeResponse(extensions: ["permessage-deflate"])
        let text = String(repeating: "echo this back, compressed. ", count: 10)
        var payload = ByteBuffer()
        try MessageCompressor(windowBits: 15, level: 6).compress(ByteBuffer(string: text), into: &payload)
        var frame = ByteBuffer()
        WebSocketFrameEncoderForTests.encode(clientFrame(.text, Array(payload.readableBytesView), rsv1: true), into: &frame)
        try channel.writeInbound(frame)
        channel.embeddedEventLoop.run()
        var echoed = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { echoed.writeBuffer(&part) }
        #expect(echoed.getInteger(at: echoed.readerIndex, as: UInt8.self) == 0xC1)
        let inflater = try MessageInflater(windowBits: 15, keepsContext: false)
        #expect(String(buffer: try inflater.inflate(ChatFrameEncoder.payload(ofFrame: echoed), maximumBytes: 1 << 16, allocator: .init())) == text)
    }
}

/// Serialises a masked client frame as bytes on the wire.
enum WebSocketFrameEncoderForTests {
    static func encode(_ frame: WebSocketFrame, into buffer: inout ByteBuffer) {
        var first: UInt8 = frame.fin ? 0x80 : 0
        if frame.rsv1 { first |= 0x40 }
        if frame.rsv2 { first |= 0x20 }
        if frame.rsv3 { first |= 0x10 }
        first |= UInt8(webSocketOpcode: frame.opcode)
        buffer.writeInteger(first)
        let length = frame.data.readableBytes
        let mask: UInt8 = frame.maskKey == nil ? 0 : 0x80
        if length < 126 {
            buffer.writeInteger(mask | UInt8(length))
        } else if length <= 0xFFFF {
            buffer.writeInteger(mask | 126)
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(mask | 127)
            buffer.writeInteger(UInt64(length))
        }
        if let key = frame.maskKey { buffer.writeBytes(key) }
        var data = frame.data
        buffer.writeBuffer(&data)
    }
}
