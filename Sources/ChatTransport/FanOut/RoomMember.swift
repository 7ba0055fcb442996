import ChatCore
import NIOCore
import NIOWebSocket

/// One joined WebSocket connection as the fan-out sees it. Lives on its channel's event loop.
///
/// It is also the pipeline's outermost outbound handler (next to the socket), so pre-framed
/// bytes from the fan-out are written straight to the socket, bypassing the frame encoder:
/// each recipient's work is one `write` of a shared buffer plus a dirty flag.
///
/// The fields the fan-out touches per recipient are `@exclusivity(unchecked)`: the member lives
/// on its event loop and none of them is ever accessed while another access to it is open, so
/// the runtime's dynamic check (`swift_beginAccess`: 234 of the fan-out's 1,719 instructions per
/// delivery; docs/performance.md, "Profile next to nginx+nchan") only cost time.
package final class RoomMember: ChannelOutboundHandler, RemovableChannelHandler {
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    let connection: ConnectionID
    let room: RoomID
    let user: UserName
    /// Holds live messages while history loads, then drops duplicates.
    @exclusivity(unchecked) var sequencer: JoinSequencer<OutboundChatFrame>
    /// The permessage-deflate window this client takes compressed messages with; nil: plain.
    let outboundWindowBits: UInt8?
    /// Which of a message's frames this member is written: seed or `chat.v2`, plain or compressed.
    let variant: FrameVariant
    /// Since when its outbound queue has been over the limit (``SlowConsumerPolicy``).
    @exclusivity(unchecked) var overLimitSince: NIODeadline?
    /// Its queued bytes as last reported to the ``OutboundBudget``.
    @exclusivity(unchecked) var budgetedBytes = 0
    /// Set while a write awaits the loop's coalesced flush.
    @exclusivity(unchecked) var needsFlush = false
    /// Index in the loop hub's member list for `room`; -1 when not listed.
    var slot = -1
    /// How the member is told to close (wired to the socket handler).
    var onClose: ((WebSocketErrorCode, String) -> Void)?
    /// Set once a close frame went out: RFC 6455 allows no data frames after it, and a slow
    /// reader's queue must stop growing while the close handshake times out.
    @exclusivity(unchecked) private(set) var stoppedWriting = false

    @exclusivity(unchecked) private var context: ChannelHandlerContext?

    package init(connection: ConnectionID, room: RoomID, user: UserName, holdLimit: Int, outboundWindowBits: UInt8? = nil, speaksV2: Bool = false) {
        self.outboundWindowBits = outboundWindowBits
        self.variant = FrameVariant(envelopes: speaksV2, windowBits: outboundWindowBits)
        self.connection = connection
        self.room = room
        self.user = user
        self.sequencer = JoinSequencer(holdLimit: holdLimit)
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    var isActive: Bool { context?.channel.isActive ?? false }

    /// Queues a complete frame for the socket. Not flushed: the loop hub flushes once per tick.
    package func writeFrame(_ frame: ByteBuffer) {
        guard let context, !stoppedWriting else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
    }

    package func flush() {
        context?.flush()
    }

    /// Flushes, then returns what ``queuedBytesIfBackedUp`` would (nil as well once the member
    /// stopped writing). One look at the context for both: it runs for every flushed member.
    func flushReportingBacklog() -> Int? {
        guard let context else { return nil }
        context.flush()
        guard !stoppedWriting else { return nil }
        let channel = context.channel
        guard !channel.isWritable else { return nil }
        return try? channel.syncOptions?.getOption(.bufferedWritableBytes)
    }

    /// Bytes waiting for the kernel, when the channel reports itself over its high-water mark.
    var queuedBytesIfBackedUp: Int? {
        guard let channel = context?.channel, !channel.isWritable else { return nil }
        return try? channel.syncOptions?.getOption(.bufferedWritableBytes)
    }

    func close(_ code: WebSocketErrorCode, reason: String) {
        stopWriting()
        onClose?(code, reason)
    }

    func stopWriting() {
        stoppedWriting = true
    }
}
