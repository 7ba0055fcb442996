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

@Suite struct UTF8StreamValidatorTests {
    @Test(arguments: [
        ([0x68, 0x69], true),
        ([0xC3, 0xA9], true),
        ([0xF0, 0x9F, 0x98, 0x80], true),
        ([0xC0, 0xAF], false),  // overlong
        ([0xED, 0xA0, 0x80], false),  // surrogate
        ([0xF4, 0x90, 0x80, 0x80], false),  // above U+10FFFF
        ([0xE0, 0x80, 0x80], false),  // overlong
        ([0xFF], false),
    ] as [([UInt8], Bool)])
    func validity(bytes: [UInt8], valid: Bool) {
        var validator = UTF8StreamValidator()
        let fed = validator.feed(bytes)
        #expect((fed && validator.isAtCharacterBoundary) == valid)
        #expect((String(validating: bytes, as: UTF8.self) != nil) == valid, "agrees with the standard library")
    }

    @Test func aCharacterMaySpanPieces() {
        var validator = UTF8StreamValidator()
        let firstValid = validator.feed([0x61, 0xF0, 0x9F])
        #expect(firstValid && !validator.isAtCharacterBoundary)
        let secondValid = validator.feed([0x98, 0x80])
        #expect(secondValid && validator.isAtCharacterBoundary)
    }

    @Test func aFragmentedTextMessageFailsAtTheFirstBadFragment() throws {
        var assembler = InboundMessageAssembler(maximumMessageBytes: 100)
        #expect(try assembler.receive(clientFrame(.text, [0x61], fin: false)) == .incomplete)
        #expect(throws: InboundMessageAssembler.Failure.invalidUTF8) {
            try assembler.receive(clientFrame(.continuation, [0xED, 0xA0, 0x80], fin: false))
        }
        var truncated = InboundMessageAssembler(maximumMessageBytes: 100)
        _ = try truncated.receive(clientFrame(.text, [0x61], fin: false))
        #expect(throws: InboundMessageAssembler.Failure.invalidUTF8) { try truncated.receive(clientFrame(.continuation, [0xC3])) }
    }
}
