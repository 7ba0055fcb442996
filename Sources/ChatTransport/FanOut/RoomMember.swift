import CChatPrefetch
import ChatCore
import NIOCore
import NIOWebSocket

/// One joined WebSocket connection as the fan-out sees it. Lives on its channel's event loop.
///
/// It writes through the context of its socket's handler (``RoomMemberSocket``), the one
/// handler next to the socket, so pre-framed bytes from the fan-out go straight to the socket;
/// not a handler itself, which spares every connection a pipeline context. A delivery only
/// records what the member is owed of its room's flush window (``RoomWindow``); each
/// recipient's work per flush is one `write` of a slice of bytes shared by the room.
///
/// The fields the fan-out touches per recipient are `@exclusivity(unchecked)`: the member lives
/// on its event loop and none of them is ever accessed while another access to it is open, so
/// the runtime's dynamic check (`swift_beginAccess`: 234 of the fan-out's 1,719 instructions per
/// delivery; docs/performance.md, "Profile next to nginx+nchan") only cost time.
package final class RoomMember {
    // Stored in this order on purpose: Swift lays a class's fields out as declared, so the
    // small ones sit together instead of each padding to eight bytes (16 B a member).
    let connection: ConnectionID
    let room: RoomID
    let user: UserName
    /// Holds live messages while history loads, then drops duplicates.
    @exclusivity(unchecked) var sequencer: JoinSequencer<OutboundChatFrame>
    /// Which of a message's frames this member is written: seed or `chat.v2`, plain or compressed.
    let variant: FrameVariant
    /// Set while a write awaits the loop's coalesced flush.
    @exclusivity(unchecked) var needsFlush = false
    /// Set once a close frame went out: RFC 6455 allows no data frames after it, and a slow
    /// reader's queue must stop growing while the close handshake times out.
    @exclusivity(unchecked) private(set) var stoppedWriting = false
    /// The channel is over its high-water mark, as its last writability event said. Kept from
    /// the events rather than asked of the channel at every flush: the fan-out reads it for
    /// every flushed member, and `context.channel.isWritable` cost an existential retain, a
    /// release and a witness call each time (docs/performance.md, "Prefetching the next members, and writability from events").
    @exclusivity(unchecked) private(set) var isBackedUp = false
    /// The room window this member is owed messages `owedFirst ..< owedFirst + owedCount` of,
    /// written at the window's flush (``RoomWindow``). Unowned: the loop hub holds the window
    /// until that flush, which clears this; nil outside a window.
    @exclusivity(unchecked) private var owedFirst: Int32 = 0
    @exclusivity(unchecked) private var owedCount: Int32 = 0
    /// 32 bits, to sit in the padding after `owedCount` (8 B a member).
    private var storedSlot: Int32 = -1
    @exclusivity(unchecked) unowned(unsafe) private var window: RoomWindow?
    /// Since when its outbound queue has been over the limit (``SlowConsumerPolicy``).
    @exclusivity(unchecked) var overLimitSince: NIODeadline?
    /// 32 bits, to sit in the padding after `overLimitSince` (8 B a member, which keeps the
    /// member in glibc's 176-byte chunk); the backlogs it is set from are capped to fit.
    @exclusivity(unchecked) private var storedBudgetedBytes: Int32 = 0
    /// The socket handler's context, while it is in the pipeline.
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    /// Where its channel object is, for ``prefetchForFlush()`` only (never dereferenced).
    @exclusivity(unchecked) private var channelAddress: UInt = 0

    /// Its queued bytes as last reported to the ``OutboundBudget``.
    var budgetedBytes: Int {
        get { Int(storedBudgetedBytes) }
        set { storedBudgetedBytes = Int32(clamping: newValue) }
    }

    /// Index in the loop hub's member list for `room`; -1 when not listed.
    var slot: Int {
        get { Int(storedSlot) }
        set { storedSlot = Int32(newValue) }
    }

    /// The permessage-deflate window this client takes compressed messages with; nil: plain.
    var outboundWindowBits: UInt8? { variant.windowBits }

    package init(connection: ConnectionID, room: RoomID, user: UserName, holdLimit: Int, outboundWindowBits: UInt8? = nil, speaksV2: Bool = false) {
        self.variant = FrameVariant(envelopes: speaksV2, windowBits: outboundWindowBits)
        self.connection = connection
        self.room = room
        self.user = user
        self.sequencer = JoinSequencer(holdLimit: holdLimit)
    }

    /// From now on the member writes through `context`: its ``RoomMemberSocket``'s, which is
    /// added to the pipeline (the handler's `handlerAdded`).
    package func attach(to context: ChannelHandlerContext) {
        self.context = context
        isBackedUp = !context.channel.isWritable
        channelAddress = UInt(bitPattern: ObjectIdentifier(context.channel))
    }

    /// The socket's channel changed writability (its `channelWritabilityChanged`).
    package func writabilityChanged(_ writable: Bool) {
        isBackedUp = !writable
    }

    /// Asks the CPU for the cache lines this member's flush is about to touch: its socket
    /// handler's context and its channel with NIO's objects around it. The fan-out calls it a
    /// couple of members ahead of the one it writes (``LoopRoomHub``).
    ///
    /// Why: between two flush windows the kernel's work for a thousand sockets pushes every
    /// member's NIO objects out of the caches, and a write then waits on one miss after another
    /// (the pipeline, the channel, its lifecycle state, its pending-writes queue): most of a
    /// delivery's user time (docs/performance.md, "Prefetching the next members"). NIO keeps
    /// those objects' addresses to itself, but allocates them together when it accepts the
    /// connection, so the lines around the channel object are asked for. Nothing is retained:
    /// a retain would itself wait for the line.
    func prefetchForFlush() {
        // The reference's bits, read in place: a copy of it would be retained.
        let context = withUnsafeMutablePointer(to: &self.context) { UnsafeRawPointer($0).load(as: UInt.self) }
        if context != 0 { chat_prefetch_pair(context) }
        if channelAddress != 0 { chat_prefetch_around(channelAddress) }
    }

    /// Asks the CPU for the fields of `members[index]` (when there is one), read from the
    /// list's storage so that the member is not retained, which would wait for the line.
    static func prefetch(_ members: UnsafeBufferPointer<RoomMember>, at index: Int) {
        guard index < members.count, let base = members.baseAddress else { return }
        chat_prefetch_object(UnsafeRawPointer(base + index).load(as: UInt.self))
    }

    /// The socket handler left the pipeline: nothing more is written.
    package func detach() {
        context = nil
        channelAddress = 0
    }

    var isActive: Bool { context?.channel.isActive ?? false }

    /// Writes the room messages the member is owed so far; the socket calls it before each frame
    /// of its own (acknowledgements, pongs, the close frame), so those go out after the
    /// messages, in the order they happened.
    package func writeOwedBeforeOwnWrite() {
        if owedCount > 0, let context { writeOwed(to: context) }
    }

    /// Queues a complete frame for the socket, after what the member is owed. Not flushed: the
    /// loop hub flushes once per tick.
    package func writeFrame(_ frame: ByteBuffer) {
        guard let context, !stoppedWriting else { return }
        if owedCount > 0 { writeOwed(to: context) }
        context.write(NIOAny(frame), promise: nil)
    }

    package func flush() {
        context?.flush()
    }

    /// Records that the member is owed message `index` of `window`; true when the member is new
    /// to the window (the hub then lists it there). False as well when it takes no writes.
    func owe(_ index: Int, of window: RoomWindow) -> Bool {
        guard context != nil, !stoppedWriting else { return false }
        if window === self.window {
            if owedCount > 0 {
                if Int(owedFirst) + Int(owedCount) == index {
                    owedCount += 1
                    return false
                }
                writeOwed(to: context!)
            }
            (owedFirst, owedCount) = (Int32(index), 1)
            return false
        }
        // Only one window per member: its room's, on its loop, until that window's flush.
        precondition(self.window == nil, "a member owed two windows")
        self.window = window
        (owedFirst, owedCount) = (Int32(index), 1)
        return true
    }

    /// Writes what the member is owed so far, before its window closed (another write must
    /// follow the owed messages): each message's own shared frame, since the window's joined
    /// bytes are made at its end.
    private func writeOwed(to context: ChannelHandlerContext) {
        guard let window else { return }
        let (first, count) = (Int(owedFirst), Int(owedCount))
        owedCount = 0
        for index in first..<first + count {
            context.write(NIOAny(window.messages[index].frame(for: variant)), promise: nil)
        }
    }

    /// Whether the member is owed all `count` messages of its window.
    func owesWhole(of count: Int) -> Bool {
        owedFirst == 0 && Int(owedCount) == count
    }

    /// At its window's flush: writes what is still owed (`whole`: the window's bytes in this
    /// member's variant, when it owes all of them) and leaves the window. With `flushing`, also
    /// flushes and returns what ``flushReportingBacklog()`` does.
    func settleWindow(_ whole: ByteBuffer?, flushing: Bool) -> Int? {
        defer { window = nil }
        guard let context else {
            owedCount = 0
            return nil
        }
        if owedCount > 0 {
            let bytes = whole ?? window!.bytes(for: variant, from: Int(owedFirst), count: Int(owedCount))
            owedCount = 0
            guard flushing else {
                context.write(NIOAny(bytes), promise: nil)
                return nil
            }
            // One pass down the pipeline for the write and its flush.
            context.writeAndFlush(NIOAny(bytes), promise: nil)
            return backlog(context)
        }
        return flushing ? backlogAfterFlushing(context) : nil
    }

    /// Flushes, then returns what ``queuedBytesIfBackedUp`` would (nil as well once the member
    /// stopped writing). One look at the context for both: it runs for every flushed member.
    func flushReportingBacklog() -> Int? {
        guard let context else { return nil }
        return backlogAfterFlushing(context)
    }

    private func backlogAfterFlushing(_ context: ChannelHandlerContext) -> Int? {
        context.flush()
        return backlog(context)
    }

    private func backlog(_ context: ChannelHandlerContext) -> Int? {
        guard isBackedUp, !stoppedWriting else { return nil }
        return Self.queuedBytes(of: context.channel)
    }

    /// Capped at what ``budgetedBytes`` holds, so that the budget adds and takes back the same.
    private static func queuedBytes(of channel: any Channel) -> Int? {
        (try? channel.syncOptions?.getOption(.bufferedWritableBytes)).map { min($0, Int(Int32.max)) }
    }

    /// Bytes waiting for the kernel, when the channel reports itself over its high-water mark.
    var queuedBytesIfBackedUp: Int? {
        guard isBackedUp, let channel = context?.channel else { return nil }
        return Self.queuedBytes(of: channel)
    }

    /// Closes the member's socket with `code` (a slow consumer, a flood while joining). Its
    /// handler is found from the context, so the member holds no closure or reference for it.
    func close(_ code: WebSocketErrorCode, reason: String) {
        stopWriting()
        (context?.handler as? any RoomMemberSocket)?.closeForMember(code, reason: reason)
    }

    func stopWriting() {
        stoppedWriting = true
    }
}
