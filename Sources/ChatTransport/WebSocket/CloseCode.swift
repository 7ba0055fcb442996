import NIOCore
import NIOWebSocket

/// Close codes this server sends, and the rules for codes a client may send (RFC 6455 §7.4).
enum CloseCode {
    static let tryAgainLater = WebSocketErrorCode(codeNumber: 1013)

    /// Whether a client may put `code` in a close frame: 1000–1003, 1007–1011 and 3000–4999.
    /// 1004–1006 and 1015 are reserved for local use and never travel on the wire.
    static func isValidFromPeer(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }

    /// A close frame's payload: the code, then a UTF-8 reason cut to fit a control frame (123 bytes).
    static func payload(_ code: WebSocketErrorCode, reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var reasonBytes = Array(reason.utf8.prefix(123))
        while !reasonBytes.isEmpty, String(validating: reasonBytes, as: UTF8.self) == nil {
            reasonBytes.removeLast()  // never cut a character in half
        }
        var buffer = allocator.buffer(capacity: 2 + reasonBytes.count)
        buffer.write(webSocketErrorCode: code)
        buffer.writeBytes(reasonBytes)
        return buffer
    }
}
