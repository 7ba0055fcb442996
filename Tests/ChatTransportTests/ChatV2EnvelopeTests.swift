import ChatCore
import Foundation
import NIOCore
import Testing

@testable import ChatTransport

/// The chat.v2 envelopes without I/O: client posts parsed or refused with the right code,
/// server frames that parse as the JSON docs/protocol.md describes, built once per message.
@Suite struct ChatV2EnvelopeTests {
    private func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    private func payloadJSON(ofFrame frame: ByteBuffer) throws -> [String: Any] {
        try json(String(buffer: ChatFrameEncoder.payload(ofFrame: frame)))
    }

    @Test func aPostEnvelopeIsParsed() {
        let parsed = PostEnvelope.parse(#"{"type":"post","id":"c1","text":"hi \"there\""}"#, maximumTextBytes: 100)
        #expect(parsed == .success(PostEnvelope(id: PostID(rawValue: "c1"), text: #"hi "there""#)))
    }

    @Test(arguments: [
        ("hello", nil, PostRefusal.Code.badEnvelope),
        (#"["post"]"#, nil, .badEnvelope),
        (#"{"type":"post","text":"hi"}"#, nil, .badEnvelope),
        (#"{"type":"post","id":7,"text":"hi"}"#, nil, .badEnvelope),
        (#"{"type":"post","id":"","text":"hi"}"#, "", .badEnvelope),
        (#"{"type":"post","id":"with space","text":"hi"}"#, "with space", .badEnvelope),
        (#"{"type":"hello","id":"c2","text":"hi"}"#, "c2", .badEnvelope),
        (#"{"type":"post","id":"c3"}"#, "c3", .badEnvelope),
        (#"{"type":"post","id":"c6","text":7}"#, "c6", .badEnvelope),
        (#"{"type":"post","id":"c4","text":""}"#, "c4", .invalidMessage),
        (#"{"type":"post","id":"c5","text":"eleven byte"}"#, "c5", .tooLong),
    ] as [(String, String?, PostRefusal.Code)])
    func badPostsAreRefusedWithTheirIDAndCode(frame: String, id: String?, code: PostRefusal.Code) {
        guard case .failure(let refusal) = PostEnvelope.parse(frame, maximumTextBytes: 10) else {
            Issue.record("\(frame) was accepted")
            return
        }
        #expect(refusal.id == id)
        #expect(refusal.code == code)
        #expect(!refusal.message.isEmpty)
    }

    @Test func anIDLongerThanTheLimitIsRefused() {
        let id = String(repeating: "x", count: PostID.maximumLength + 1)
        guard case .failure(let refusal) = PostEnvelope.parse(#"{"type":"post","id":"\#(id)","text":"hi"}"#, maximumTextBytes: 10) else {
            Issue.record("accepted")
            return
        }
        #expect(refusal.code == .badEnvelope)
    }

    @Test func theMessageEnvelopeIsTheSeedsFieldsWithTypeAndEpoch() throws {
        let message = ChatMessage(
            room: RoomID(7), user: UserName(trusted: "Zoë \"Z\""), text: "line\nbreak", timestamp: 1_732_860_000_000, seq: 42,
            epoch: RoomEpoch(rawValue: "e\"1")
        )
        let seed = ChatFrameEncoder.textFrame(for: message, allocator: .init())
        let v2 = ServerEnvelope.messageFrame(for: EncodedChatMessage(message), allocator: .init())
        let fields = try payloadJSON(ofFrame: v2)
        #expect(fields["type"] as? String == "message")
        #expect(fields["chatroom"] as? Int == 7)
        #expect(fields["user"] as? String == "Zoë \"Z\"")
        #expect(fields["message"] as? String == "line\nbreak")
        #expect(fields["timestamp"] as? Int64 == 1_732_860_000_000)
        #expect(fields["seq"] as? Int == 42)
        #expect(fields["epoch"] as? String == "e\"1")
        #expect(Set(fields.keys) == Set(try payloadJSON(ofFrame: seed).keys).union(["type", "epoch"]))
    }

    @Test func aLargeMessageEnvelopeHasAFrameHeaderOfItsSize() throws {
        let text = String(repeating: "a", count: 70_000)
        let message = ChatMessage(room: RoomID(1), user: UserName(trusted: "u"), text: text, timestamp: 0, seq: 1, epoch: RoomEpoch(rawValue: "e"))
        let v2 = ServerEnvelope.messageFrame(for: EncodedChatMessage(message), allocator: .init())
        #expect(v2.getInteger(at: v2.readerIndex + 1, as: UInt8.self) == 127)
        #expect(try payloadJSON(ofFrame: v2)["message"] as? String == text)
    }

    @Test func ackErrorAndResumedAreTheDocumentedJSON() throws {
        let ack = try json(ServerEnvelope.ack(id: "c\"1", seq: 9, epoch: "ab12"))
        #expect(ack["type"] as? String == "ack" && ack["id"] as? String == "c\"1" && ack["seq"] as? Int == 9 && ack["epoch"] as? String == "ab12")

        let error = try json(ServerEnvelope.error(PostRefusal(id: "c2", code: .tooLong, message: "too long")))
        #expect(error["type"] as? String == "error" && error["id"] as? String == "c2")
        #expect(error["code"] as? String == "too_long" && error["message"] as? String == "too long")
        let anonymous = try json(ServerEnvelope.error(PostRefusal(id: nil, code: .badEnvelope, message: "no id")))
        #expect(anonymous["id"] is NSNull)

        let resumed = try json(ServerEnvelope.resumed(recovered: true, from: 5, to: 9))
        #expect(resumed["type"] as? String == "resumed" && resumed["recovered"] as? Bool == true)
        #expect(resumed["from"] as? Int == 5 && resumed["to"] as? Int == 9)
        let empty = try json(ServerEnvelope.resumed(recovered: false, from: nil, to: nil))
        #expect(empty["recovered"] as? Bool == false && empty["from"] is NSNull && empty["to"] is NSNull)
    }

    @Test func everyVariantOfAMessageIsBuiltOnceAndShared() throws {
        let message = ChatMessage(room: RoomID(1), user: UserName(trusted: "u"), text: String(repeating: "compress me ", count: 40), timestamp: 0, seq: 3)
        let frame = OutboundChatFrame(message, compressors: FrameCompressors(settings: .init()), allocator: .init())
        let v2 = FrameVariant(envelopes: true, windowBits: nil)
        let v2Deflated = FrameVariant(envelopes: true, windowBits: 15)
        func storage(_ buffer: ByteBuffer) -> UnsafeRawPointer? { buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) } }
        #expect(storage(frame.frame(for: v2)) == storage(frame.frame(for: v2)), "the v2 frame is made once")
        #expect(storage(frame.frame(for: v2Deflated)) == storage(frame.frame(for: v2Deflated)))
        #expect(storage(frame.frame(for: .seedPlain)) == storage(frame.plain), "seed members get the seed frame")
        #expect(try payloadJSON(ofFrame: frame.frame(for: v2))["type"] as? String == "message")
        #expect(frame.frame(for: v2Deflated).getInteger(at: frame.frame(for: v2Deflated).readerIndex, as: UInt8.self) == 0xC1, "FIN + RSV1 + text")
    }

    @Test func joinOptionsComeFromTheHeaderOrTheQuery() throws {
        let plain = try #require(JoinRequest(uri: "/v1/chatrooms/1/join?user=a"))
        #expect(try JoinOptions(plain, subprotocolHeaders: []) == .seed)
        #expect(try JoinOptions(plain, subprotocolHeaders: ["foo, chat.v2"]).speaksV2)
        #expect(JoinOptions.subprotocolAnswer(offered: ["foo, chat.v2"]) == "chat.v2")
        #expect(JoinOptions.subprotocolAnswer(offered: ["chat.v3"]) == nil)
        let query = try #require(JoinRequest(uri: "/v1/chatrooms/1/join?user=a&protocol=2&since=17&epoch=ab"))
        #expect(try JoinOptions(query, subprotocolHeaders: []) == JoinOptions(speaksV2: true, resume: ResumePoint(seq: 17, epoch: RoomEpoch(rawValue: "ab"))))
        let seedResume = try #require(JoinRequest(uri: "/v1/chatrooms/1/join?user=a&since=0"))
        #expect(try JoinOptions(seedResume, subprotocolHeaders: []) == JoinOptions(speaksV2: false, resume: ResumePoint(seq: 0, epoch: nil)))
    }

    @Test(arguments: ["protocol=3", "since=x", "since=-1", "epoch=ab", "since=1&epoch=", "since=1&epoch=UPPER"])
    func badJoinOptionsAre400(_ query: String) throws {
        let join = try #require(JoinRequest(uri: "/v1/chatrooms/1/join?user=a&\(query)"))
        #expect(throws: APIError.self) { try JoinOptions(join, subprotocolHeaders: []) }
        do {
            _ = try JoinOptions(join, subprotocolHeaders: [])
        } catch {
            #expect(error.status == .badRequest)
        }
    }
}
