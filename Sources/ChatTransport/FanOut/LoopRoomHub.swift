import CChatPrefetch
import ChatCore
import NIOCore
import NIOWebSocket

/// The members of every room on one event loop, and the loop's coalesced flush.
///
/// Confined to its event loop: no locks, and no dynamic exclusivity checks on the fields the
/// fan-out touches per message (`@exclusivity(unchecked)`, as in ``RoomMember``). The
/// process-wide ``RoomHub`` hops here once per message per loop; from then on delivering to N
/// members is N buffer writes, and each dirty member is flushed once per loop tick however
/// many messages arrived in it.
package final class LoopRoomHub {
    let eventLoop: any EventLoop
    private let slowConsumers: SlowConsumerPolicy
    private let counters: TransportCounters
    /// Shared by every loop; nil: no budget (tests of the hub alone).
    private let budget: OutboundBudget?
    /// How long a written member waits for its flush; zero: until the end of the loop tick.
    private let flushWindow: TimeAmount
    @exclusivity(unchecked) private var rooms: [RoomID: [RoomMember]] = [:]
    /// chat.v2 members per room: a presence event for a room without any costs no member walk.
    private var envelopeMembers: [RoomID: Int] = [:]
    @exclusivity(unchecked) private var dirty: [RoomMember] = []
    /// This flush window's messages per room, and their members (``RoomWindow``).
    @exclusivity(unchecked) private var windows: [RoomID: RoomWindow] = [:]
    @exclusivity(unchecked) private var openWindows: [RoomWindow] = []
    private let allocator = ByteBufferAllocator()
    @exclusivity(unchecked) private var flushScheduled = false
    /// How many members ahead of the one being written the walks ask for a member's own cache lines,
    /// and for its NIO objects' (``RoomMember/prefetchForFlush()``): measured, 4 and 2.
    private static let membersAheadForFields = 4
    private static let membersAheadForChannel = 2

    package init(
        eventLoop: any EventLoop, slowConsumers: SlowConsumerPolicy, counters: TransportCounters, flushWindow: TimeAmount = .zero,
        budget: OutboundBudget? = nil
    ) {
        self.eventLoop = eventLoop
        self.budget = budget
        self.slowConsumers = slowConsumers
        self.counters = counters
        self.flushWindow = flushWindow
    }

    /// Lists a member that has not played history yet: live messages are held for it.
    package func add(_ member: RoomMember) {
        precondition(member.slot == -1, "member added twice")
        member.slot = rooms[member.room]?.count ?? 0
        rooms[member.room, default: []].append(member)
        if member.variant.envelopes { envelopeMembers[member.room, default: 0] += 1 }
    }

    func remove(_ member: RoomMember) {
        guard member.slot >= 0, var members = rooms[member.room], member.slot < members.count,
            members[member.slot] === member
        else { return }
        let last = members.removeLast()
        if last !== member {
            members[member.slot] = last
            last.slot = member.slot
        }
        member.slot = -1
        rooms[member.room] = members.isEmpty ? nil : members
        if member.budgetedBytes != 0 {
            budget?.add(-member.budgetedBytes)
            member.budgetedBytes = 0
        }
        if member.variant.envelopes {
            let remaining = envelopeMembers[member.room, default: 1] - 1
            envelopeMembers[member.room] = remaining > 0 ? remaining : nil
        }
    }

    func memberCount(in room: RoomID) -> Int { rooms[room]?.count ?? 0 }

    /// Delivers one pre-encoded message to every member of `room` on this loop.
    package func deliver(_ message: OutboundChatFrame, room: RoomID) {
        guard let members = rooms[room] else { return }
        // A member is only told which of the window's messages it is owed: the bytes are joined
        // per room and written once per member at the flush (``RoomWindow``).
        var window: RoomWindow?
        var index = 0
        var delivered = 0
        members.withUnsafeBufferPointer { members in
            for place in members.indices {
                unowned(unsafe) let member = members[place]
                // Each member's sequencer and owed range would be a cache miss otherwise.
                RoomMember.prefetch(members, at: place + Self.membersAheadForFields)
                switch member.sequencer.receive(message.position, payload: message) {
                case .deliver:
                    if window == nil {
                        let opened = openWindow(for: room)
                        index = opened.append(message)
                        window = opened
                    }
                    if member.owe(index, of: window!) { window!.members.append(member) }
                    delivered += 1
                case .held, .duplicate:
                    break
                case .overflow:
                    member.close(.init(codeNumber: 1013), reason: "too many messages while joining; try again")
                }
            }
        }
        // Once per message per loop, never per recipient (docs/operations.md, "Metrics").
        counters.countDeliveries(delivered, latencyNanoseconds: message.nanosecondsSincePublished())
    }

    /// Writes a presence event's frame to every live `chat.v2` member of `room` on this loop
    /// (seed members never see one; joining members learn who is there from the users list).
    func deliverPresence(_ frame: ByteBuffer, room: RoomID) {
        guard envelopeMembers[room] != nil, let members = rooms[room] else { return }
        for member in members where member.variant.envelopes && member.sequencer.isLive {
            member.writeFrame(frame)
            markDirty(member)
        }
    }

    /// Plays `history` to a joining member, then `notice` (a `chat.v2` frame such as
    /// `resumed`), then what was held for it, and makes it live. `through` is the last position the
    /// member holds when history does not say (a resume that found nothing missed).
    package func completeJoin(
        of member: RoomMember, history: [ChatMessage], through: MessagePosition? = nil, notice: ByteBuffer? = nil, allocator: ByteBufferAllocator
    ) {
        guard member.slot >= 0 else { return }
        // History goes out uncompressed (RFC 7692 lets any message be): compressing it per
        // joining member would make a join storm cost a compression per message per member.
        for message in history {
            let encoded = EncodedChatMessage(message, allocator: allocator)
            member.writeFrame(
                member.variant.envelopes
                    ? ServerEnvelope.messageFrame(for: encoded, allocator: allocator)
                    : ChatFrameEncoder.textFrame(for: encoded, allocator: allocator)
            )
        }
        if let notice { member.writeFrame(notice) }
        for message in member.sequencer.historyPlayed(through: history.last?.position ?? through) {
            member.writeFrame(message.frame(for: member.variant))
        }
        markDirty(member)
    }

    private func openWindow(for room: RoomID) -> RoomWindow {
        if let open = windows[room] { return open }
        let window = RoomWindow(allocator: allocator)
        windows[room] = window
        openWindows.append(window)
        scheduleFlush()
        return window
    }

    private func markDirty(_ member: RoomMember) {
        if !member.needsFlush {
            member.needsFlush = true
            dirty.append(member)
        }
        scheduleFlush()
    }

    private func scheduleFlush() {
        if !flushScheduled {
            flushScheduled = true
            if flushWindow > .zero {
                // Every message of the next `flushWindow` shares one flush per member: the
                // syscall (most of a delivery's cost on loopback, docs/performance.md) is paid
                // once per window, at the price of that much latency. Flushing at once when the
                // loop had been quiet was tried and measured: under load it lost the gain.
                eventLoop.assumeIsolated().scheduleTask(in: flushWindow) { self.flushDirty() }
            } else {
                // Runs after the tasks already queued on this loop: every message that arrives
                // in the same tick shares one flush (one syscall) per member.
                eventLoop.assumeIsolated().execute { self.flushDirty() }
            }
        }
    }

    private func flushDirty() {
        flushScheduled = false
        let closing = openWindows
        openWindows.removeAll(keepingCapacity: true)
        windows.removeAll(keepingCapacity: true)
        let members = dirty
        dirty.removeAll(keepingCapacity: true)
        var now: NIODeadline?
        var budgetChange = 0
        // The lists hold each member until their walks end, so members are used unretained, and
        // one call writes, flushes and reads the backlog: this saved a retain and a release per
        // flushed member (docs/performance.md, "Profile next to nginx+nchan").
        for window in closing {
            let owed = window.members
            let count = window.messages.count
            // Most members owe the whole window in one variant: its bytes are looked up once,
            // as `deliver` does with each message's frame.
            var lastVariant: FrameVariant?
            var lastBytes = ByteBuffer()
            for index in owed.indices {
                prefetch(owed, after: index)
                unowned(unsafe) let member = owed[index]
                let whole = member.owesWhole(of: count)
                if whole && member.variant != lastVariant {
                    lastVariant = member.variant
                    lastBytes = window.bytes(for: member.variant, from: 0, count: count)
                }
                // Also dirty for another write: written now, flushed by the walk below.
                let flushing = !member.needsFlush
                let backlog = member.settleWindow(whole ? lastBytes : nil, flushing: flushing)
                if flushing { settle(member, backlog: backlog, now: &now, budgetChange: &budgetChange) }
            }
        }
        for index in members.indices {
            unowned(unsafe) let member = members[index]
            member.needsFlush = false
            settle(member, backlog: member.flushReportingBacklog(), now: &now, budgetChange: &budgetChange)
        }
        if let budget, budgetChange != 0, budget.add(budgetChange) > budget.limit {
            enforceBudget(budget)
        }
    }

    /// Software pipelining for the flush's member walk: while `owed[index]` is written, the
    /// caches are asked for the members after it (``RoomMember/prefetchForFlush()`` says why).
    @inline(__always)
    private func prefetch(_ owed: [RoomMember], after index: Int) {
        owed.withUnsafeBufferPointer { owed in
            RoomMember.prefetch(owed, at: index + Self.membersAheadForFields)
            if index + Self.membersAheadForChannel < owed.count {
                unowned(unsafe) let ahead = owed[index + Self.membersAheadForChannel]
                ahead.prefetchForFlush()
            }
        }
    }

    /// Books a flushed member's backlog against the budget and judges it a slow consumer or not.
    private func settle(_ member: RoomMember, backlog: Int?, now: inout NIODeadline?, budgetChange: inout Int) {
        guard let queued = backlog else {
            member.overLimitSince = nil
            budgetChange -= member.budgetedBytes
            member.budgetedBytes = 0
            return
        }
        budgetChange += queued - member.budgetedBytes
        member.budgetedBytes = queued
        let moment = now ?? .now()
        now = moment
        switch slowConsumers.judge(queuedBytes: queued, overSince: member.overLimitSince, now: moment) {
        case .fine:
            member.overLimitSince = nil
        case .over(let since):
            member.overLimitSince = since
        case .close:
            counters.countSlowConsumer()
            budgetChange -= member.budgetedBytes
            member.budgetedBytes = 0
            member.close(.policyViolation, reason: "too slow: \(queued) bytes queued")
        }
    }

    /// The queues together are over the budget: closes this loop's members holding the most
    /// until the total is back under it. Rare, so it may look at every member of the loop.
    /// A closed member's bytes leave the count at once; they are freed within the close timeout.
    private func enforceBudget(_ budget: OutboundBudget) {
        var holders: [(member: RoomMember, bytes: Int)] = []
        for members in rooms.values {
            for member in members where member.budgetedBytes > 0 && !member.stoppedWriting {
                let queued = member.queuedBytesIfBackedUp ?? 0  // fresh: it may have drained since
                if queued != member.budgetedBytes {
                    budget.add(queued - member.budgetedBytes)
                    member.budgetedBytes = queued
                }
                if queued > 0 { holders.append((member, queued)) }
            }
        }
        holders.sort { $0.bytes > $1.bytes }
        for holder in holders {
            guard budget.isExceeded else { break }
            counters.countOutboundBudgetClose()
            budget.add(-holder.member.budgetedBytes)
            holder.member.budgetedBytes = 0
            holder.member.close(.policyViolation, reason: "server is short of memory for slow readers: \(holder.bytes) bytes queued")
        }
    }
}
