import NIOCore
import NIOWebSocket

/// Close codes this server sends, and the rules for codes a client may send (RFC 6455 §7.4).
enum CloseCode {
    static let tryAgainLater = WebSocketErrorCode(codeNumber: 1013)
    /// The token the connection was admitted with expired (an application code, 4000–4999).
    static let credentialExpired = WebSocketErrorCode(codeNumber: 4001)

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

extension CloseCode {
    /// The code to answer a peer's close frame with (its payload given): its own code when
    /// valid, 1002 for a bad code or a one-byte payload, 1007 for a reason that is not UTF-8.
    static func reply(toPeerClose payload: ByteBuffer) -> WebSocketErrorCode {
        var data = payload
        switch data.readableBytes {
        case 0:
            return .normalClosure
        case 1:
            return .protocolError
        default:
            let code = data.readInteger(as: UInt16.self)!
            if !isValidFromPeer(code) { return .protocolError }
            if String(validating: data.readableBytesView, as: UTF8.self) == nil { return .dataInconsistentWithMessage }
            return WebSocketErrorCode(codeNumber: Int(code))
        }
    }
}
