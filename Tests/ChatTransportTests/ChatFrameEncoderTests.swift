import ChatCore
import Foundation
import NIOCore
import Testing

@testable import ChatTransport

@Suite struct ChatFrameEncoderTests {
    private func message(_ text: String, user: String = "John") -> ChatMessage {
        ChatMessage(room: RoomID(7), user: UserName(trusted: user), text: text, timestamp: 1_732_860_000_000, seq: 42)
    }

    /// Splits a server frame into its header fields and payload, checking it is unmasked text.
    private struct Malformed: Error {}

    private func parse(_ frame: ByteBuffer) throws -> (length: Int, headerBytes: Int, payload: ByteBuffer) {
        var frame = frame
        guard let first = frame.readInteger(as: UInt8.self), let second = frame.readInteger(as: UInt8.self) else { throw Malformed() }
        #expect(first == 0x81, "FIN + text opcode")
        #expect(second & 0x80 == 0, "server frames are not masked")
        var length = Int(second & 0x7F)
        var header = 2
        if length == 126 {
            guard let extended = frame.readInteger(as: UInt16.self) else { throw Malformed() }
            length = Int(extended)
            header = 4
        } else if length == 127 {
            guard let extended = frame.readInteger(as: UInt64.self) else { throw Malformed() }
            length = Int(extended)
            header = 10
        }
        #expect(frame.readableBytes == length)
        return (length, header, frame)
    }

    @Test(arguments: [(10, 2), (200, 4), (70_000, 10)])
    func headerSizeFollowsThePayloadLength(_ textLength: Int, _ expectedHeader: Int) throws {
        let frame = ChatFrameEncoder.textFrame(for: message(String(repeating: "a", count: textLength)), allocator: .init())
        let parsed = try parse(frame)
        #expect(parsed.headerBytes == expectedHeader)
    }

    @Test(arguments: [
        "hi", "quote \" backslash \\ slash /", "control \u{0} \u{1} \u{1F} \u{7F}", "lines\n\r\t\u{8}\u{C}",
        "unicode Zoë 李 🙂 \u{2028}", "",
    ])
    func payloadIsTheSeedJSONAndRoundTrips(_ text: String) throws {
        let original = message(text, user: "Zoë \"Z\"")
        let parsed = try parse(ChatFrameEncoder.textFrame(for: original, allocator: .init()))
        let decoded = try JSONDecoder().decode(ChatMessage.self, from: Data(parsed.payload.readableBytesView))
        #expect(decoded == original)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(parsed.payload.readableBytesView)) as? [String: Any])
        #expect(Set(object.keys) == ["chatroom", "user", "message", "timestamp", "seq"])
    }

    @Test func theWireBytesAreTheSeedsShape() throws {
        let parsed = try parse(ChatFrameEncoder.textFrame(for: message("x"), allocator: .init()))
        #expect(String(buffer: parsed.payload) == #"{"chatroom":7,"user":"John","message":"x","timestamp":1732860000000,"seq":42}"#)
    }
}
