import ChatCore
import NIOCore
import NIOEmbedded
import NIOWebSocket

@testable import ChatTransport

/// A client frame as it arrives from the wire: masked with a random key.
func clientFrame(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
    let key = WebSocketMaskingKey.random()
    var data = ByteBuffer(bytes: bytes)
    data.webSocketMask(key)
    return WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: key, data: data)
}

func clientFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> WebSocketFrame {
    clientFrame(opcode, Array(text.utf8), fin: fin)
}

/// A close frame's payload: code, then reason.
func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
}

extension WebSocketFrame {
    /// The close code of a close frame the server sent.
    var closeCode: UInt16? {
        guard opcode == .connectionClose else { return nil }
        var data = self.data
        return data.readInteger(as: UInt16.self)
    }
}

/// Counts `read` and `flush` calls that reach the socket.
final class IOCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    var reads = 0
    var flushes = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }

    func flush(context: ChannelHandlerContext) {
        flushes += 1
        context.flush()
    }
}

extension OutboundChatFrame {
    /// A message framed as the fan-out frames what the in-memory broker delivers.
    convenience init(_ message: ChatMessage, compressors: FrameCompressors?, allocator: ByteBufferAllocator) {
        self.init(EncodedChatMessage(message, allocator: allocator), compressors: compressors, allocator: allocator)
    }
}

/// The `chat.v2` message frame as the protocol defines it, written field by field by the one
/// writer (not spliced as the fan-out does): what the spliced frames must equal byte for byte.
func v2MessageFrame(_ message: ChatMessage) -> ByteBuffer {
    var json = ByteBuffer()
    json.writeStaticString(#"{"type":"message","#)
    ChatMessageJSON.writeFields(of: message, includingEpoch: true, into: &json)
    json.writeStaticString("}")
    return ServerEnvelope.textFrame(String(buffer: json), allocator: .init())
}

/// The client's end of the wire for tests that speak in frames: a frame written inbound reaches
/// the socket handler as the bytes a socket would read, and the bytes the handler writes come
/// back out as frames (``WebSocketFrameWire`` both ways).
final class FrameBytes: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = ByteBuffer()
        WebSocketFrameEncoderForTests.encode(unwrapInboundIn(data), into: &bytes)
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var bytes = unwrapOutboundIn(data)
        while let frame = try? WebSocketFrameWire.frame(from: &bytes, maximumFrameBytes: .max) {
            context.write(wrapOutboundOut(frame), promise: bytes.readableBytes == 0 ? promise : nil)
        }
        precondition(bytes.readableBytes == 0, "the handler wrote part of a frame")
    }
}
