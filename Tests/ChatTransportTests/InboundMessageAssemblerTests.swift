import NIOCore
import NIOWebSocket
import Testing

@testable import ChatTransport

@Suite struct InboundMessageAssemblerTests {
    var assembler = InboundMessageAssembler(maximumMessageBytes: 10, maximumFragments: 3)

    @Test mutating func aSingleFrameIsAMessage() throws {
        #expect(try assembler.receive(clientFrame(.text, "hello")) == .text(ByteBuffer(string: "hello"), compressed: false))
        #expect(try assembler.receive(clientFrame(.binary, [1, 2])) == .binary(ByteBuffer(bytes: [1, 2]), compressed: false))
    }

    @Test mutating func fragmentsAreJoinedAndControlFramesMayInterleave() throws {
        #expect(try assembler.receive(clientFrame(.text, "he", fin: false)) == .incomplete)
        let ping = clientFrame(.ping, "p")
        #expect(try assembler.receive(ping) == .control(ping))
        #expect(try assembler.receive(clientFrame(.continuation, "ll", fin: false)) == .incomplete)
        #expect(try assembler.receive(clientFrame(.continuation, "o")) == .text(ByteBuffer(string: "hello"), compressed: false))
    }

    @Test mutating func unmaskedFramesAreAProtocolViolation() {
        let unmasked = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "x"))
        #expect(throws: InboundMessageAssembler.Failure.protocolViolation("client frames must be masked")) { try assembler.receive(unmasked) }
    }

    @Test mutating func reservedBitsWithoutAnExtensionAreAViolation() {
        #expect(throws: InboundMessageAssembler.Failure.self) { try assembler.receive(clientFrame(.text, [0x41], rsv1: true)) }
    }

    @Test mutating func continuationWithoutAStartIsAViolation() {
        #expect(throws: InboundMessageAssembler.Failure.self) { try assembler.receive(clientFrame(.continuation, "x")) }
    }

    @Test mutating func aNewMessageInsideAFragmentedOneIsAViolation() throws {
        _ = try assembler.receive(clientFrame(.text, "a", fin: false))
        #expect(throws: InboundMessageAssembler.Failure.self) { try assembler.receive(clientFrame(.text, "b")) }
    }

    @Test mutating func reservedOpcodesAreAViolation() {
        let reserved = clientFrame(WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, "x")
        #expect(throws: InboundMessageAssembler.Failure.self) { try assembler.receive(reserved) }
    }

    @Test mutating func sizeIsLimitedForWholeAndFragmentedMessages() throws {
        #expect(throws: InboundMessageAssembler.Failure.tooLarge("message exceeds 10 bytes")) {
            try assembler.receive(clientFrame(.text, "12345678901"))
        }
        var fragmented = InboundMessageAssembler(maximumMessageBytes: 10)
        _ = try fragmented.receive(clientFrame(.text, "123456", fin: false))
        #expect(throws: InboundMessageAssembler.Failure.tooLarge("message exceeds 10 bytes")) {
            try fragmented.receive(clientFrame(.continuation, "78901"))
        }
    }

    @Test mutating func fragmentCountIsLimited() throws {
        _ = try assembler.receive(clientFrame(.text, "a", fin: false))
        _ = try assembler.receive(clientFrame(.continuation, "b", fin: false))
        _ = try assembler.receive(clientFrame(.continuation, "c", fin: false))
        #expect(throws: InboundMessageAssembler.Failure.self) { try assembler.receive(clientFrame(.continuation, "d", fin: false)) }
    }
}
