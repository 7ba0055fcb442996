import ChatCore
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The broker's payload: the seed's JSON message plus the epoch (`{"chatroom":7,"user":…,
/// "message":…,"timestamp":…,"seq":1,"epoch":"…"}`), so anything listening on `chatroom:{id}`
/// reads the fields it always read.
enum RedisMessageCodec {
    /// The payload up to and including `"seq":` (``ChatMessageJSON``); the publish script appends
    /// the seq, the epoch and `}`.
    static func prefix(of draft: MessageDraft) -> String {
        var buffer = ByteBuffer()
        ChatMessageJSON.writePrefix(of: draft, into: &buffer)
        return String(buffer: buffer)
    }

    static func decode(_ payload: ByteBuffer) throws -> ChatMessage {
        try JSONDecoder().decode(ChatMessage.self, from: Data(payload.readableBytesView))
    }
}
