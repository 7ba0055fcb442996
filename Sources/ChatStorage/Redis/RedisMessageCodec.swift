import ChatCore
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The broker's payload: the seed's JSON message (`{"chatroom":7,"user":…,"message":…,
/// "timestamp":…,"seq":1}`), so anything listening on `chatroom:{id}` reads what it always read.
enum RedisMessageCodec {
    /// The payload up to and including `"seq":`; the publish script appends the number and `}`.
    static func prefix(of draft: MessageDraft) -> String {
        var json = #"{"chatroom":"#
        json += String(draft.room.rawValue)
        json += #","user":"#
        appendQuoted(draft.user.rawValue, to: &json)
        json += #","message":"#
        appendQuoted(draft.text, to: &json)
        json += #","timestamp":"#
        json += String(draft.timestamp)
        json += #","seq":"#
        return json
    }

    static func decode(_ payload: ByteBuffer) throws -> ChatMessage {
        try JSONDecoder().decode(ChatMessage.self, from: Data(payload.readableBytesView))
    }

    private static func appendQuoted(_ text: String, to json: inout String) {
        json += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }
}
