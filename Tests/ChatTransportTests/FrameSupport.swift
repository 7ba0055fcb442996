import NIOCore
import NIOEmbedded
import NIOWebSocket

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
