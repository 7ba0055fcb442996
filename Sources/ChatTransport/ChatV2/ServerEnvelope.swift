import ChatCore
import NIOCore

/// The frames a `chat.v2` client receives (docs/protocol.md is their reference).
///
/// `message` is built once per message for every v2 member, from the message's payload bytes
/// (written by the one owner of a message's JSON): a type in front. The others are
/// per-connection answers, written to one client only.
enum ServerEnvelope {
    /// `{"type":"message",<the seed's fields>,"epoch":"…"}` as a complete text frame: the
    /// message's payload bytes (``EncodedChatMessage``, seed fields then the epoch) after the
    /// type, spliced rather than encoded again.
    static func messageFrame(for message: EncodedChatMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        let fields = message.fieldsWithEpochAndClosingBrace
        var buffer = allocator.buffer(capacity: ChatFrameEncoder.headerReserve + typePrefix.utf8CodeUnitCount + fields.readableBytes)
        buffer.moveWriterIndex(forwardBy: ChatFrameEncoder.headerReserve)
        buffer.moveReaderIndex(forwardBy: ChatFrameEncoder.headerReserve)
        buffer.writeStaticString(typePrefix)
        buffer.writeImmutableBuffer(fields)
        ChatFrameEncoder.prependFrameHeader(to: &buffer, firstByte: 0x81)  // FIN + text
        return buffer
    }

    private static let typePrefix: StaticString = #"{"type":"message","#

    /// `{"type":"ack","id":"c1","seq":7,"epoch":"…"}`: the post is sequenced (and, for a
    /// repeated id, the same answer as the first time).
    static func ack(id: String, seq: Int64, epoch: String) -> String {
        json { buffer in
            buffer.writeStaticString(#"{"type":"ack","id":"#)
            ChatMessageJSON.writeString(id, into: &buffer)
            buffer.writeStaticString(#","seq":"#)
            buffer.writeString(String(seq))
            buffer.writeStaticString(#","epoch":"#)
            ChatMessageJSON.writeString(epoch, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// `{"type":"error","id":"c1","code":"too_long","message":"…"}` (`"id":null` when the
    /// frame had no readable id).
    static func error(_ refusal: PostRefusal) -> String {
        json { buffer in
            buffer.writeStaticString(#"{"type":"error","id":"#)
            if let id = refusal.id {
                ChatMessageJSON.writeString(id, into: &buffer)
            } else {
                buffer.writeStaticString("null")
            }
            buffer.writeStaticString(#","code":"#)
            ChatMessageJSON.writeString(refusal.code.rawValue, into: &buffer)
            buffer.writeStaticString(#","message":"#)
            ChatMessageJSON.writeString(refusal.message, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// `{"type":"presence","user":"Ann","event":"join"}` as a complete text frame, built once
    /// per event for every v2 member.
    static func presenceFrame(_ event: PresenceEvent, allocator: ByteBufferAllocator) -> ByteBuffer {
        let json = json { buffer in
            buffer.writeStaticString(#"{"type":"presence","user":"#)
            ChatMessageJSON.writeString(event.user.rawValue, into: &buffer)
            buffer.writeStaticString(#","event":"#)
            ChatMessageJSON.writeString(event.kind.rawValue, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        return textFrame(json, allocator: allocator)
    }

    /// `{"type":"resumed","recovered":true,"from":5,"to":9}`: what the join played before
    /// live messages. `from`/`to` are the first and last seq the client holds from this join
    /// (for a recovered resume `from` is `since + 1` and `to` at least `since`); null when
    /// nothing was played.
    static func resumed(recovered: Bool, from: Int64?, to: Int64?) -> String {
        json { buffer in
            buffer.writeStaticString(#"{"type":"resumed","recovered":"#)
            buffer.writeString(recovered ? "true" : "false")
            buffer.writeStaticString(#","from":"#)
            buffer.writeString(from.map(String.init) ?? "null")
            buffer.writeStaticString(#","to":"#)
            buffer.writeString(to.map(String.init) ?? "null")
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// `json` as a complete text frame, for writing beside the fan-out's frames.
    static func textFrame(_ json: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: ChatFrameEncoder.headerReserve + json.utf8.count)
        buffer.moveWriterIndex(forwardBy: ChatFrameEncoder.headerReserve)
        buffer.moveReaderIndex(forwardBy: ChatFrameEncoder.headerReserve)
        buffer.writeString(json)
        ChatFrameEncoder.prependFrameHeader(to: &buffer, firstByte: 0x81)  // FIN + text
        return buffer
    }

    /// The wire form of a message's epoch.
    static func epoch(of message: ChatMessage) -> String {
        message.epoch.rawValue
    }

    private static func json(_ write: (inout ByteBuffer) -> Void) -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: 96)
        write(&buffer)
        return String(buffer: buffer)
    }
}
