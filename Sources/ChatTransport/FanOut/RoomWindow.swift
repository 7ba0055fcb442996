import NIOCore

/// The messages one room got on one event loop within one flush window, and the members they
/// are owed to.
///
/// A delivery only records that a member is owed the window's messages from one index on; at
/// the window's end each variant's frames are joined into one buffer, once per room, and each
/// member is written one slice of it. So a recipient costs one NIO write per flush however many
/// messages the window held, instead of one pipeline hop and pending-writes entry per message
/// (most of chatd's user time per delivery next to nginx+nchan: docs/performance.md, "Profile
/// next to nginx+nchan"). Confined to its loop.
///
/// Its fields are `@exclusivity(unchecked)` for the reason ``RoomMember``'s are: loop-confined,
/// never accessed while another access is open, and read per recipient.
final class RoomWindow {
    /// The window's messages, in delivery order.
    @exclusivity(unchecked) private(set) var messages: [OutboundChatFrame] = []
    /// Members owed a part of this window, in the order they were first owed (each once).
    @exclusivity(unchecked) var members: [RoomMember] = []
    /// Each variant's frames joined, with where each message starts in it (and, last, the end).
    @exclusivity(unchecked) private var joined: [(variant: FrameVariant, bytes: ByteBuffer, offsets: [Int])] = []
    private let allocator: ByteBufferAllocator

    init(allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.allocator = allocator
    }

    /// Appends a message; returns its index in the window.
    func append(_ message: OutboundChatFrame) -> Int {
        messages.append(message)
        // Joined before the window closed (not done by the fan-out, which joins at the flush):
        // those joins lack this message, so they are made again when next asked for.
        if !joined.isEmpty { joined.removeAll() }
        return messages.count - 1
    }

    /// The bytes of messages `first ..< first + count` in `variant`: a slice of one buffer
    /// joined once per variant per window.
    func bytes(for variant: FrameVariant, from first: Int, count: Int) -> ByteBuffer {
        // Asked once per variant per window for the whole (the hub keeps the answer for its
        // member walk) and for the rare member that owes only a part.
        var index = 0
        while index < joined.count && joined[index].variant != variant { index += 1 }
        if index == joined.count { join(variant) }
        let bytes = joined[index].bytes
        if first == 0 && count == messages.count { return bytes }
        let (start, end) = (joined[index].offsets[first], joined[index].offsets[first + count])
        return bytes.getSlice(at: bytes.readerIndex + start, length: end - start)!
    }

    private func join(_ variant: FrameVariant) {
        var frames: [ByteBuffer] = []
        frames.reserveCapacity(messages.count)
        var total = 0
        for message in messages {
            let frame = message.frame(for: variant)
            total += frame.readableBytes
            frames.append(frame)
        }
        var offsets: [Int] = []
        offsets.reserveCapacity(messages.count + 1)
        let bytes: ByteBuffer
        if frames.count == 1 {
            // One message: its shared frame as it is, no copy.
            bytes = frames[0]
            offsets = [0, total]
        } else {
            var buffer = allocator.buffer(capacity: total)
            for frame in frames {
                offsets.append(buffer.writerIndex)
                buffer.writeImmutableBuffer(frame)
            }
            offsets.append(buffer.writerIndex)
            bytes = buffer
        }
        joined.append((variant, bytes, offsets))
    }
}
