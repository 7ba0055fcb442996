import ChatCore
import Foundation
import NIOCore
import Testing

/// The Redis payload's format: written by the one writer, read back without a JSON decoder,
/// and anything else refused.
@Suite struct EncodedChatMessageTests {
    private let message = ChatMessage(
        room: RoomID(7), user: UserName(trusted: "Zoë \"Z\""), text: #"she said "seq":1,"epoch":"x"} \ and left"#,
        timestamp: 1_732_860_000_000, seq: 42, epoch: RoomEpoch(rawValue: "k3m9q2xa")
    )

    private func string(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    @Test func theBytesAreTheOneWritersAndParseBackToTheSamePosition() throws {
        let encoded = EncodedChatMessage(message)
        var withEpoch = ByteBuffer()
        ChatMessageJSON.write(message, includingEpoch: true, into: &withEpoch)
        #expect(encoded.bytes == withEpoch)
        let parsed = try #require(EncodedChatMessage(parsing: encoded.bytes), "text that looks like the tail cannot confuse the reader")
        #expect(parsed.room == message.room && parsed.position == message.position)
        #expect(try JSONDecoder().decode(ChatMessage.self, from: Data(parsed.bytes.readableBytesView)) == message)
    }

    @Test func theSeedJSONAndTheV2FieldsAreSlicesOfThePayload() throws {
        let parsed = try #require(EncodedChatMessage(parsing: EncodedChatMessage(message).bytes))
        var seed = ByteBuffer()
        parsed.writeSeedJSON(into: &seed)
        var expected = ByteBuffer()
        ChatMessageJSON.write(message, into: &expected)
        #expect(string(seed) == string(expected))
        #expect(parsed.seedJSONLength == expected.readableBytes)
        var fields = ByteBuffer()
        ChatMessageJSON.writeFields(of: message, includingEpoch: true, into: &fields)
        #expect(string(parsed.fieldsWithEpochAndClosingBrace) == string(fields) + "}")
    }

    @Test func aNegativeTimestampAndTheLegacyEpochParse() throws {
        let old = ChatMessage(room: RoomID(1), user: UserName(trusted: "u"), text: "", timestamp: -5, seq: 1)
        let parsed = try #require(EncodedChatMessage(parsing: EncodedChatMessage(old).bytes))
        #expect(parsed.position == MessagePosition(epoch: .legacy, seq: 1) && parsed.timestamp == -5)
    }

    @Test(arguments: [
        "",
        "not json",
        #"{"chatroom":7,"user":"u","message":"m","timestamp":1,"seq":1}"#,  // before epochs
        #"{"chatroom":7,"user":"u","message":"m","timestamp":1,"seq":1,"epoch":"ab"} "#,  // trailing byte
        #"{"chatroom":7,"user":"u","message":"m","timestamp":1,"seq":1,"epoch":"AB"}"#,  // not the alphabet
        #"{"chatroom":7,"user":"u","message":"m","timestamp":1,"seq":1,"epoch":""}"#,
        #"{"chatroom":7,"user":"u","message":"m","timestamp":1,"seq":1,"epoch":"0123456789abcdefg"}"#,  // too long
        #"{"chatroom":7,"user":"u","message":"m","timestamp":1,"seq":,"epoch":"ab"}"#,
        #"{"chatroom":7,"user":"u","message":"m\"#,
        #"{"chatroom":7,"user":"u","message":"raw\#ncontrol","timestamp":1,"seq":1,"epoch":"ab"}"#,
        #"{"chatroom":7,"message":"m","user":"u","timestamp":1,"seq":1,"epoch":"ab"}"#,  // another field order
        #"{"chatroom":7,"user":"u","message":"m","timestamp":1,"seq":1234567890123456789,"epoch":"ab"}"#,  // 19 digits
        #"{"chatroom": 7,"user":"u","message":"m","timestamp":1,"seq":1,"epoch":"ab"}"#,  // other spacing
        // Leading zeros are not JSON: clients would refuse the frame (found by FuzzRedisPayload).
        #"{"chatroom":7,"user":"u","message":"m","timestamp":0850000000000,"seq":1,"epoch":"ab"}"#,
        #"{"chatroom":07,"user":"u","message":"m","timestamp":1,"seq":1,"epoch":"ab"}"#,
        #"{"chatroom":7,"user":"u","message":"m","timestamp":-01,"seq":1,"epoch":"ab"}"#,
        #"{"chatroom":7,"user":"u","message":"m","timestamp":1,"seq":00,"epoch":"ab"}"#,
    ])
    func anythingElseIsRefused(_ payload: String) {
        #expect(EncodedChatMessage(parsing: ByteBuffer(string: payload)) == nil)
    }

    @Test(arguments: [
        [0xFF],  // never in UTF-8
        [0xC3],  // cut off
        [0xC0, 0xAF],  // overlong
        [0xED, 0xA0, 0x80],  // a surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        Array(#"\q"#.utf8),  // not a JSON escape
        Array(#"\u12"#.utf8),
    ] as [[UInt8]])
    func textThatIsNotValidJSONOrUTF8IsRefused(_ text: [UInt8]) {
        var payload = ByteBuffer(string: #"{"chatroom":7,"user":"u","message":"a"#)
        payload.writeBytes(text)
        payload.writeString(#"b","timestamp":1,"seq":1,"epoch":"ab"}"#)
        #expect(EncodedChatMessage(parsing: payload) == nil)
    }

    @Test func everyEscapeTheWriterUsesAndMultiByteUTF8Parse() {
        let text = "\u{01}\u{1F}\"\\\n\r\t\u{08}\u{0C} é € 🎉 \u{10FFFF} /"
        let message = ChatMessage(room: RoomID(1), user: UserName(trusted: "ü"), text: text, timestamp: 0, seq: 1)
        #expect(EncodedChatMessage(parsing: EncodedChatMessage(message).bytes) != nil)
        let escaped = #"{"chatroom":1,"user":"u","message":"\/\u00e9\uD83C\uDF89","timestamp":1,"seq":1,"epoch":"ab"}"#
        #expect(EncodedChatMessage(parsing: ByteBuffer(string: escaped)) != nil)
    }

    @Test func aPayloadInsideALargerBufferIsReadFromItsReaderIndex() throws {
        var buffer = ByteBuffer(string: "xx")
        buffer.writeImmutableBuffer(EncodedChatMessage(message).bytes)
        buffer.moveReaderIndex(forwardBy: 2)
        let parsed = try #require(EncodedChatMessage(parsing: buffer))
        var seed = ByteBuffer()
        parsed.writeSeedJSON(into: &seed)
        #expect(seed.readableBytesView.first == UInt8(ascii: "{") && parsed.position.seq == 42)
    }
}
