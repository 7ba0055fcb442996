import NIOCore
import NIOWebSocket

/// Bytes to frames and frames to bytes, in one handler: what NIO's `WebSocketFrameEncoder` and
/// `ByteToMessageHandler(WebSocketFrameDecoder)` do in two, without their idle state.
///
/// Every joined connection carries its codec for as long as it is open, mostly idle: NIO's pair
/// costs two pipeline contexts, a 16-byte header buffer, a four-slot buffer queue and an empty
/// buffer per connection (docs/performance.md, "An idle connection, byte by byte"). Here an idle
/// connection holds no buffer at all: the bytes of a frame that is not complete yet are copied
/// out of the channel's receive buffer (so NIO can reuse that buffer for the next read) and
/// dropped when the frame is.
///
/// Decoding is NIO's own `WebSocketFrameDecoder` (its frame parser, limits and errors); after a
/// decoding error, later bytes are not decoded but reported as an error, as
/// `ByteToMessageHandler` does. Server frames are written unmasked, header and payload in
/// one buffer.
final class WebSocketFrameCodec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    private var decoder: WebSocketFrameDecoder
    /// The start of a frame whose remaining bytes have not arrived; nil between frames.
    private var partial: ByteBuffer?
    /// The decoding error, once there was one: later bytes are reported as
    /// `ByteToMessageDecoderError.dataReceivedInErrorState`, as `ByteToMessageHandler` does (the
    /// socket handler then drops the connection instead of waiting for a close reply).
    private var failure: (any Error)?

    init(maximumFrameBytes: Int) {
        decoder = WebSocketFrameDecoder(maxFrameSize: maximumFrameBytes)
    }

    /// The capacity of the buffer held for an incomplete frame (0: none); for the tests.
    var heldCapacity: Int { partial?.capacity ?? 0 }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let failure {
            context.fireErrorCaught(ByteToMessageDecoderError.dataReceivedInErrorState(failure, buffer))
            return
        }
        let ownsBuffer = partial != nil
        if var held = partial {
            partial = nil  // `held` is then the storage's only owner: appending does not copy it
            held.writeBuffer(&buffer)
            buffer = held
        }
        do {
            // Each `.continue` fired one frame to the next handler.
            while try decoder.decode(context: context, buffer: &buffer) == .continue {}
        } catch {
            failure = error
            context.fireErrorCaught(error)
            return
        }
        guard buffer.readableBytes > 0 else { return }
        if ownsBuffer {
            // Our own copy already: keep it, dropping the frames read off its front once they
            // outweigh what is left (so a stream that always ends mid-frame stays bounded, and
            // each byte is moved a bounded number of times).
            if buffer.readerIndex > buffer.readableBytes { buffer.discardReadBytes() }
            partial = buffer
            return
        }
        // A copy, not the slice: the slice would keep the channel's receive buffer from being reused.
        var held = context.channel.allocator.buffer(capacity: buffer.readableBytes)
        held.writeBuffer(&buffer)
        partial = held
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(Self.bytes(of: unwrapOutboundIn(data), allocator: context.channel.allocator)), promise: promise)
    }

    /// A frame as the server sends it: header (unmasked unless the frame has a mask key), then
    /// the extension data and the application data.
    static func bytes(of frame: WebSocketFrame, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = frame.length
        var bytes = allocator.buffer(capacity: 14 + length)
        var first = UInt8(webSocketOpcode: frame.opcode)
        if frame.fin { first |= 0x80 }
        if frame.rsv1 { first |= 0x40 }
        if frame.rsv2 { first |= 0x20 }
        if frame.rsv3 { first |= 0x10 }
        bytes.writeInteger(first)
        let maskBit: UInt8 = frame.maskKey == nil ? 0 : 0x80
        switch length {
        case ..<126:
            bytes.writeInteger(UInt8(length) | maskBit)
        case ...0xFFFF:
            bytes.writeInteger(126 | maskBit)
            bytes.writeInteger(UInt16(length))
        default:
            bytes.writeInteger(127 | maskBit)
            bytes.writeInteger(UInt64(length))
        }
        let payloadStart: Int
        if let key = frame.maskKey {
            bytes.writeBytes(key)
            payloadStart = bytes.writerIndex
        } else {
            payloadStart = -1
        }
        if var extensionData = frame.extensionData { bytes.writeBuffer(&extensionData) }
        var data = frame.data
        bytes.writeBuffer(&data)
        if let key = frame.maskKey, payloadStart >= 0 {
            var payload = bytes.getSlice(at: payloadStart, length: length)!
            payload.webSocketMask(key)
            bytes.setBuffer(payload, at: payloadStart)
        }
        return bytes
    }
}
