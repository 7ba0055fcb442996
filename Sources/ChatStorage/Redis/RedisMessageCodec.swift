import ChatCore
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The broker's payload on the Redis side. Its format is ``EncodedChatMessage``'s (the seed's
/// JSON message plus the epoch, `{"chatroom":7,"user":…,"message":…,"timestamp":…,"seq":1,
/// "epoch":"…"}`), so anything listening on `chatroom:{id}` reads the fields it always read.
enum RedisMessageCodec {
    /// The payload up to and including `"seq":` (``ChatMessageJSON``); the publish script appends
    /// the seq and ``EncodedChatMessage``'s tail.
    static func prefix(of draft: MessageDraft) -> String {
        var buffer = ByteBuffer()
        ChatMessageJSON.writePrefix(of: draft, into: &buffer)
        return String(buffer: buffer)
    }

    /// The payload as a value, for history, resume and the chat log (not the fan-out, which
    /// frames ``EncodedChatMessage``'s bytes).
    static func decode(_ payload: ByteBuffer) throws -> ChatMessage {
        try JSONDecoder().decode(ChatMessage.self, from: Data(payload.readableBytesView))
    }
}
