import ChatCore
import Logging
import NIOCore
import Synchronization

/// The process-wide side of the fan-out: one broker subscription per room with local members,
/// and for every message one framing of its payload bytes, then one hop to each event loop
/// that has members there.
///
/// Join order (what makes the join gap-free, with ``JoinSequencer``):
/// 1. the member is listed on its loop, so it holds every message delivered there from now on;
/// 2. the room's broker subscription is made live (or found live);
/// 3. history is read (it contains everything delivered before step 1);
/// 4. back on the loop, history is played and held messages newer than it are released.
final class RoomHub: Sendable {
    private struct LoopTarget: Sendable {
        let loop: any EventLoop
        let hub: NIOLoopBound<LoopRoomHub>
        var members: Int
    }

    private struct RoomEntry {
        let generation: UInt64
        var targets: [LoopTarget]
        let subscription: Task<any BrokerSubscription, any Error>
        /// The room's presence events, for chat.v2 members; nil when they could not be watched.
        let presence: Task<(any BrokerSubscription)?, Never>
    }

    private struct State {
        var rooms: [RoomID: RoomEntry] = [:]
        var loopHubs: [ObjectIdentifier: NIOLoopBound<LoopRoomHub>] = [:]
        var nextGeneration: UInt64 = 0
    }

    /// What a member's join produced; needed to leave.
    struct Ticket: Sendable {
        let room: RoomID
        let generation: UInt64
        let hub: NIOLoopBound<LoopRoomHub>
    }

    private let service: ChatService
    private let slowConsumers: SlowConsumerPolicy
    let counters: TransportCounters
    private let compressors: FrameCompressors?
    private let flushWindow: TimeAmount
    private let budget: OutboundBudget?
    private let logger: Logger
    private let allocator = ByteBufferAllocator()
    private let state = Mutex(State())

    init(
        service: ChatService, slowConsumers: SlowConsumerPolicy, counters: TransportCounters, compressors: FrameCompressors?,
        flushWindow: TimeAmount, budget: OutboundBudget? = nil, logger: Logger
    ) {
        self.service = service
        self.budget = budget
        self.flushWindow = flushWindow
        self.slowConsumers = slowConsumers
        self.counters = counters
        self.compressors = compressors
        self.logger = logger
    }

    /// Steps 1 and 2 of the join. On return the member holds every live message of its room.
    func join(_ member: NIOLoopBound<RoomMember>) async throws -> Ticket {
        let loop = member.eventLoop
        let (hub, room) = try await loop.submit {
            let hub = self.loopHub(for: loop)
            hub.value.add(member.value)
            return (hub, member.value.room)
        }.get()

        let (generation, subscription) = state.withLock { state in
            if state.rooms[room] == nil {
                state.nextGeneration += 1
                let generation = state.nextGeneration
                logger.debug("subscribing to room", metadata: ["room": "\(room)"])
                let subscription = Task {
                    try await self.service.subscribeEncoded(to: room) { message in
                        self.fanOut(message, generation: generation)
                    }
                }
                let presence = Task { () -> (any BrokerSubscription)? in
                    do {
                        return try await self.service.watchPresence(in: room) { event in
                            self.fanOutPresence(event, generation: generation)
                        }
                    } catch {
                        // Presence events are a courtesy to chat.v2 clients: the room works without them.
                        self.logger.warning("cannot watch the room's presence events", metadata: ["room": "\(room)", "error": "\(error)"])
                        return nil
                    }
                }
                state.rooms[room] = RoomEntry(generation: generation, targets: [], subscription: subscription, presence: presence)
                counters.countActiveRoom(1)
            }
            let loopID = ObjectIdentifier(loop)
            if let index = state.rooms[room]!.targets.firstIndex(where: { ObjectIdentifier($0.loop) == loopID }) {
                state.rooms[room]!.targets[index].members += 1
            } else {
                state.rooms[room]!.targets.append(LoopTarget(loop: loop, hub: hub, members: 1))
            }
            return (state.rooms[room]!.generation, state.rooms[room]!.subscription)
        }
        let ticket = Ticket(room: room, generation: generation, hub: hub)
        do {
            _ = try await subscription.value
        } catch {
            await leave(member, ticket: ticket)
            throw error
        }
        return ticket
    }

    /// Step 4 of the join.
    func completeJoin(
        of member: NIOLoopBound<RoomMember>, ticket: Ticket, history: [ChatMessage], through: MessagePosition? = nil, notice: String? = nil
    ) async throws {
        let allocator = allocator
        try await member.eventLoop.submit {
            let notice = notice.map { ServerEnvelope.textFrame($0, allocator: allocator) }
            ticket.hub.value.completeJoin(of: member.value, history: history, through: through, notice: notice, allocator: allocator)
        }.get()
    }

    /// Unlists the member; the last local member of a room ends the room's subscription.
    func leave(_ member: NIOLoopBound<RoomMember>, ticket: Ticket) async {
        try? await member.eventLoop.submit { ticket.hub.value.remove(member.value) }.get()
        let loopID = ObjectIdentifier(member.eventLoop)
        let ended: RoomEntry? = state.withLock { state in
            guard var entry = state.rooms[ticket.room], entry.generation == ticket.generation,
                let index = entry.targets.firstIndex(where: { ObjectIdentifier($0.loop) == loopID })
            else { return nil }
            entry.targets[index].members -= 1
            if entry.targets[index].members == 0 { entry.targets.remove(at: index) }
            if entry.targets.isEmpty {
                state.rooms[ticket.room] = nil
                counters.countActiveRoom(-1)
                return entry
            }
            state.rooms[ticket.room] = entry
            return nil
        }
        guard let ended else { return }
        if let subscription = try? await ended.subscription.value {
            logger.debug("no members left; unsubscribing from room", metadata: ["room": "\(ticket.room)"])
            await subscription.cancel()
        }
        await ended.presence.value?.cancel()
    }

    /// Called by the broker for every message of a subscribed room, in sequence order.
    private func fanOut(_ message: EncodedChatMessage, generation: UInt64) {
        let targets = state.withLock { state -> [LoopTarget]? in
            guard let entry = state.rooms[message.room], entry.generation == generation else { return nil }
            return entry.targets
        }
        guard let targets, !targets.isEmpty else { return }
        let frame = OutboundChatFrame(message, compressors: compressors, allocator: allocator)
        let room = message.room
        for target in targets {
            let hub = target.hub
            target.loop.execute { hub.value.deliver(frame, room: room) }
        }
    }

    /// Called by the presence store for every presence event of a subscribed room: framed
    /// once, then one hop to each loop with members there.
    private func fanOutPresence(_ event: PresenceEvent, generation: UInt64) {
        let targets = state.withLock { state -> [LoopTarget]? in
            guard let entry = state.rooms[event.room], entry.generation == generation else { return nil }
            return entry.targets
        }
        guard let targets, !targets.isEmpty else { return }
        let frame = ServerEnvelope.presenceFrame(event, allocator: allocator)
        let room = event.room
        for target in targets {
            let hub = target.hub
            target.loop.execute { hub.value.deliverPresence(frame, room: room) }
        }
    }

    /// The loop's hub, created on first use. Must run on `loop`.
    private func loopHub(for loop: any EventLoop) -> NIOLoopBound<LoopRoomHub> {
        let key = ObjectIdentifier(loop)
        if let hub = state.withLock({ $0.loopHubs[key] }) { return hub }
        let hub = NIOLoopBound(LoopRoomHub(eventLoop: loop, slowConsumers: slowConsumers, counters: counters, flushWindow: flushWindow, budget: budget), eventLoop: loop)
        return state.withLock { state in
            if let existing = state.loopHubs[key] { return existing }
            state.loopHubs[key] = hub
            return hub
        }
    }
}
