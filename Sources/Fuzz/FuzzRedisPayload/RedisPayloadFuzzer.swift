import ChatCore
import Foundation
import NIOCore

@testable import ChatTransport

/// A payload as it arrives from Redis Pub/Sub or a stream: ``EncodedChatMessage/init(parsing:)``,
/// the reader the fan-out trusts instead of a JSON decoder, and the frames spliced from it.
///
/// Input: any bytes (another publisher's, a truncated or hostile payload).
///
/// Checks, for every payload the reader accepts: the payload, the seed's frame and the
/// `chat.v2` envelope are valid UTF-8 (a text frame must be) and JSON objects that
/// `JSONSerialization` reads (unless a `\u` escape names a lone surrogate, which the JSON
/// grammar allows and Foundation refuses); the seed's frame holds the room and seq the reader
/// found and no `epoch`; the payload's `epoch` is the one the reader found; the envelope is
/// the payload's fields behind `"type":"message"`.
enum RedisPayloadFuzzer {
    static func run(_ input: UnsafeRawBufferPointer) {
        var payload = ByteBuffer()
        payload.writeBytes(input)
        guard let message = EncodedChatMessage(parsing: payload) else { return }

        var seed = ByteBuffer()
        message.writeSeedJSON(into: &seed)
        precondition(seed.readableBytes == message.seedJSONLength)
        let envelope = ServerEnvelope.messageFrame(for: message, allocator: ByteBufferAllocator())

        let mayHoldLoneSurrogate = input.firstRange(of: Array(#"\u"#.utf8)) != nil
        let whole = object(payload, mayFail: mayHoldLoneSurrogate)
        let seedObject = object(seed, mayFail: mayHoldLoneSurrogate)
        if let whole {
            precondition((whole["epoch"] as? String) == message.position.epoch.rawValue, "epoch of \(whole) read as \(message.position.epoch)")
        }
        if let seedObject {
            precondition(seedObject["epoch"] == nil, "the seed frame carries an epoch: \(seedObject)")
            precondition((seedObject["chatroom"] as? NSNumber)?.int64Value == message.room.rawValue, "room of \(seedObject) read as \(message.room)")
            precondition((seedObject["seq"] as? NSNumber)?.int64Value == message.position.seq, "seq of \(seedObject) read as \(message.position.seq)")
            for key in ["user", "message"] { precondition(seedObject[key] is String, "\(key) of \(seedObject)") }
        }

        // The envelope is a whole text frame: skip its header to reach the JSON.
        var frame = envelope
        let header = ChatFrameEncoderHeader.length(ofFrame: frame)
        frame.moveReaderIndex(forwardBy: header)
        let prefix = #"{"type":"message","#
        precondition(frame.getString(at: frame.readerIndex, length: prefix.utf8.count) == prefix)
        precondition(frame.getSlice(at: frame.readerIndex + prefix.utf8.count, length: frame.readableBytes - prefix.utf8.count)
            == message.fieldsWithEpochAndClosingBrace)
        if let envelopeObject = object(frame, mayFail: mayHoldLoneSurrogate) {
            precondition(envelopeObject["type"] as? String == "message")
        }
    }

    /// The buffer as a JSON object; it must be valid UTF-8 and, unless `mayFail`, valid JSON.
    private static func object(_ buffer: ByteBuffer, mayFail: Bool) -> [String: Any]? {
        let bytes = Array(buffer.readableBytesView)
        precondition(String(validating: bytes, as: UTF8.self) != nil, "not UTF-8: \(bytes)")
        let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        precondition(parsed != nil || mayFail, "not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
        return parsed
    }
}

/// The length of a server frame's header (FIN/opcode byte, then a 7-, 16- or 64-bit length).
enum ChatFrameEncoderHeader {
    static func length(ofFrame frame: ByteBuffer) -> Int {
        let second = frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self)! & 0x7F
        switch second {
        case 126: return 4
        case 127: return 10
        default: return 2
        }
    }
}
