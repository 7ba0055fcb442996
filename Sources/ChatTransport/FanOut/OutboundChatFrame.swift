import ChatCore
import Foundation
import NIOCore
import Synchronization

/// How one recipient takes a room's messages: the seed's bare JSON or `chat.v2` envelopes,
/// plain or compressed with a window size.
struct FrameVariant: Hashable, Sendable {
    var envelopes: Bool
    var windowBits: UInt8?

    static let seedPlain = FrameVariant(envelopes: false, windowBits: nil)
}

/// One chat message, framed once for every recipient on every event loop: the plain seed
/// frame, and each other variant (the `chat.v2` envelope, compressed frames per window
/// size) made by the first recipient that needs it. Both uncompressed forms are spliced from
/// the message's payload bytes (``EncodedChatMessage``: what Redis delivered), never decoded.
///
/// Recipients on different loops share it; the other variants are built under a lock so
/// that each is made exactly once.
package final class OutboundChatFrame: Sendable {
    let position: MessagePosition
    /// When the message was published (milliseconds since 1970), for the delivery latency.
    let timestamp: Int64
    /// FIN + text frame with the JSON payload, for seed clients without permessage-deflate.
    let plain: ByteBuffer
    private let message: EncodedChatMessage
    private let compressors: FrameCompressors?
    private let variants = Mutex<[FrameVariant: ByteBuffer]>([:])

    package init(_ message: EncodedChatMessage, compressors: FrameCompressors?, allocator: ByteBufferAllocator) {
        self.position = message.position
        self.timestamp = message.timestamp
        self.plain = ChatFrameEncoder.textFrame(for: message, allocator: allocator)
        self.message = message
        self.compressors = compressors
    }

    /// Nanoseconds from the publish timestamp to now (the wall clock: it crosses servers).
    func nanosecondsSincePublished() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000_000).rounded()) - timestamp * 1_000_000
    }

    /// The frame for a seed recipient that negotiated `windowBits` (nil: no compression).
    func frame(forWindowBits windowBits: UInt8?) -> ByteBuffer {
        frame(for: FrameVariant(envelopes: false, windowBits: windowBits))
    }

    /// The frame for a recipient taking `variant`.
    func frame(for variant: FrameVariant) -> ByteBuffer {
        if variant == .seedPlain || (!variant.envelopes && compressors == nil) { return plain }
        return variants.withLock { variants in
            Self.frame(for: variant, in: &variants, plain: plain, message: message, compressors: compressors)
        }
    }

    private static func frame(
        for variant: FrameVariant, in variants: inout [FrameVariant: ByteBuffer], plain: ByteBuffer, message: EncodedChatMessage, compressors: FrameCompressors?
    ) -> ByteBuffer {
        if variant == .seedPlain { return plain }
        if let frame = variants[variant] { return frame }
        let frame: ByteBuffer
        if let windowBits = variant.windowBits, let compressors {
            let uncompressed = Self.frame(
                for: FrameVariant(envelopes: variant.envelopes, windowBits: nil), in: &variants, plain: plain, message: message, compressors: compressors
            )
            frame =
                compressors.compressedFrame(
                    payload: ChatFrameEncoder.payload(ofFrame: uncompressed),
                    opcode: 0x1,
                    windowBits: windowBits,
                    allocator: ByteBufferAllocator()
                ) ?? uncompressed
        } else if variant.envelopes {
            frame = ServerEnvelope.messageFrame(for: message, allocator: ByteBufferAllocator())
        } else {
            frame = plain
        }
        variants[variant] = frame
        return frame
    }
}
