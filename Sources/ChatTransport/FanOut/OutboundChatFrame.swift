import ChatCore
import NIOCore
import Synchronization

/// One chat message, framed once for every recipient on every event loop: the plain frame,
/// and a compressed frame per window size, made by the first recipient that needs it.
///
/// Recipients on different loops share it; the compressed variants are built under a lock so
/// that each is compressed exactly once.
final class OutboundChatFrame: Sendable {
    let position: MessagePosition
    /// FIN + text frame with the JSON payload, for clients without permessage-deflate.
    let plain: ByteBuffer
    private let compressors: FrameCompressors?
    private let compressed = Mutex<[UInt8: ByteBuffer]>([:])

    init(_ message: ChatMessage, compressors: FrameCompressors?, allocator: ByteBufferAllocator) {
        self.position = message.position
        self.plain = ChatFrameEncoder.textFrame(for: message, allocator: allocator)
        self.compressors = compressors
    }

    /// The frame for a recipient that negotiated `windowBits` (nil: no compression).
    func frame(forWindowBits windowBits: UInt8?) -> ByteBuffer {
        guard let windowBits, let compressors else { return plain }
        return compressed.withLock { variants in
            if let frame = variants[windowBits] { return frame }
            let frame = compressors.compressedFrame(
                payload: ChatFrameEncoder.payload(ofFrame: plain),
                opcode: 0x1,
                windowBits: windowBits,
                allocator: ByteBufferAllocator()
            ) ?? plain
            variants[windowBits] = frame
            return frame
        }
    }
}
