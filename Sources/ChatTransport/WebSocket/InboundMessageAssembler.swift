import NIOCore
import NIOWebSocket

/// Reassembles client frames into messages and enforces RFC 6455's framing rules, as a pure
/// value: frames in, messages or a typed failure out.
///
/// Written here rather than using `NIOWebSocketFrameAggregator` because the rules that decide
/// the close code (masking, reserved bits, fragment order, size) belong in one tested place, and
/// because the aggregator drops `rsv1`, which permessage-deflate needs on the first fragment.
struct InboundMessageAssembler {
    enum Output: Equatable {
        /// A whole message; `compressed` when its first frame had RSV1 (permessage-deflate).
        case text(ByteBuffer, compressed: Bool)
        case binary(ByteBuffer, compressed: Bool)
        case control(WebSocketFrame)
        /// A fragment was buffered; nothing to act on yet.
        case incomplete
    }

    enum Failure: Error, Equatable {
        /// RFC 6455 was broken: close with 1002.
        case protocolViolation(String)
        /// The message is larger than allowed: close with 1009.
        case tooLarge(String)
        /// A fragment of an uncompressed text message is not UTF-8: close with 1007.
        case invalidUTF8
    }

    let maximumMessageBytes: Int
    let maximumFragments: Int
    /// Whether permessage-deflate was negotiated, which gives RSV1 its meaning.
    let acceptsCompressed: Bool
    /// The message being reassembled: boxed, so that a connection between messages holds 8
    /// bytes for it rather than the 48 of its fields.
    private var partial: Partial?

    private final class Partial {
        let isText: Bool
        let compressed: Bool
        var data: ByteBuffer
        var fragments = 1
        /// Follows an uncompressed text message fragment by fragment.
        var utf8 = UTF8StreamValidator()

        init(isText: Bool, compressed: Bool, data: ByteBuffer) {
            self.isText = isText
            self.compressed = compressed
            self.data = data
        }
    }

    init(maximumMessageBytes: Int, maximumFragments: Int = 1_024, acceptsCompressed: Bool = false) {
        self.maximumMessageBytes = maximumMessageBytes
        self.maximumFragments = maximumFragments
        self.acceptsCompressed = acceptsCompressed
    }

    mutating func receive(_ frame: WebSocketFrame) throws(Failure) -> Output {
        guard frame.maskKey != nil else { throw .protocolViolation("client frames must be masked") }
        guard !frame.rsv2, !frame.rsv3 else { throw .protocolViolation("reserved bits RSV2/RSV3 set") }
        if frame.rsv1 {
            // RFC 7692 §6: RSV1 marks a compressed message, on its first frame only.
            guard acceptsCompressed else { throw .protocolViolation("RSV1 set without permessage-deflate") }
            guard frame.opcode == .text || frame.opcode == .binary else {
                throw .protocolViolation("RSV1 set on a control or continuation frame")
            }
        }
        switch frame.opcode {
        case .connectionClose, .ping, .pong:
            return .control(frame)
        case .text, .binary:
            guard partial == nil else { throw .protocolViolation("a new message started before the previous one ended") }
            let data = frame.unmaskedData
            try checkSize(data.readableBytes)
            if frame.fin {
                return frame.opcode == .text ? .text(data, compressed: frame.rsv1) : .binary(data, compressed: frame.rsv1)
            }
            let message = Partial(isText: frame.opcode == .text, compressed: frame.rsv1, data: data)
            partial = message
            if message.isText && !message.compressed {
                guard message.utf8.feed(data.readableBytesView) else { throw .invalidUTF8 }
            }
            return .incomplete
        case .continuation:
            guard let message = partial else { throw .protocolViolation("continuation frame without a message to continue") }
            let fragment = frame.unmaskedData
            try checkSize(message.data.readableBytes + fragment.readableBytes)
            message.fragments += 1
            guard message.fragments <= maximumFragments else { throw .tooLarge("more than \(maximumFragments) fragments") }
            if message.isText && !message.compressed {
                guard message.utf8.feed(fragment.readableBytesView), !frame.fin || message.utf8.isAtCharacterBoundary else { throw .invalidUTF8 }
            }
            message.data.writeImmutableBuffer(fragment)
            guard frame.fin else { return .incomplete }
            partial = nil
            return message.isText ? .text(message.data, compressed: message.compressed) : .binary(message.data, compressed: message.compressed)
        default:
            throw .protocolViolation("reserved opcode \(frame.opcode)")
        }
    }

    private func checkSize(_ bytes: Int) throws(Failure) {
        if bytes > maximumMessageBytes { throw .tooLarge("message exceeds \(maximumMessageBytes) bytes") }
    }
}
