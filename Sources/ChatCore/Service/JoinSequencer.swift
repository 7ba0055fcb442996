/// The gap-free join as a pure state machine, one per joining connection.
///
/// A joining connection subscribes first, then loads the room's history (or, on a resume, what
/// came after the client's position). Live messages that arrive meanwhile are held here. When
/// history arrives, held messages newer than the history are released in order and the
/// connection goes live; from then on a message of the same epoch at or below the last delivered
/// seq is a duplicate and dropped. Nothing is lost (subscribe came first) and nothing is shown
/// twice (positions decide).
///
/// A message of *another* epoch than the last delivered one is a reset of the room's numbering
/// (see ``RoomEpoch``): it is delivered and numbering continues from it. The epoch left behind is
/// remembered, so a late message of it (published before the reset) is dropped rather than
/// taken for another reset.
///
/// Generic over the payload so the transport can hold pre-encoded frames rather than messages.
///
/// `receive` runs once per recipient of every message (the fan-out's hot path), so it and
/// what it touches are `@inlinable`: specialized in the transport, rather than called
/// unspecialized across the module boundary, where every call looked up the metadata of
/// `held`'s tuple type (268 of the fan-out's 1,719 instructions per delivery; docs/performance.md,
/// "Profile next to nginx+nchan").
public struct JoinSequencer<Payload> {
    public enum Decision: Equatable {
        /// Write the payload to the client now.
        case deliver
        /// Held until history has been played.
        case held
        /// Already delivered (or older than the history): drop it.
        case duplicate
        /// Too many messages arrived before history did: the join cannot be completed in order.
        case overflow
    }

    // Every joined connection holds one: the small fields last, so they pack (45 bytes, and
    // the fields that follow it in a class fill the rest of its last word).
    @usableFromInline var held: [(position: MessagePosition, payload: Payload)] = []
    @usableFromInline var lastDelivered: MessagePosition?
    /// Epochs this connection moved on from; their messages are old. Bounded by the resets seen.
    @usableFromInline var retired: Set<RoomEpoch> = []
    @usableFromInline let storedHoldLimit: Int32
    public internal(set) var isLive = false

    /// The most messages held while waiting for history; a bound on a joining connection's memory.
    @inlinable public var holdLimit: Int { Int(storedHoldLimit) }

    public init(holdLimit: Int = 10_000) {
        self.storedHoldLimit = Int32(clamping: holdLimit)
    }

    /// The last position written to the client (history or live), if any.
    public var lastPosition: MessagePosition? { lastDelivered }

    /// A live message arrived from the broker.
    @inlinable
    public mutating func receive(_ position: MessagePosition, payload: Payload) -> Decision {
        guard isLive else {
            guard held.count < holdLimit else { return .overflow }
            held.append((position, payload))
            return .held
        }
        return advance(to: position) ? .deliver : .duplicate
    }

    /// History has been played up to `lastPosition` (`nil`: the room had no history). Returns
    /// the held payloads to deliver now, in order, and goes live.
    public mutating func historyPlayed(through lastPosition: MessagePosition?) -> [Payload] {
        precondition(!isLive, "history can be played once")
        isLive = true
        lastDelivered = lastPosition
        var released: [Payload] = []
        released.reserveCapacity(held.count)
        for (position, payload) in held where advance(to: position) {
            released.append(payload)
        }
        held = []
        return released
    }

    /// Moves to `position` if it is new; `false` for a duplicate or a message of a retired epoch.
    @inlinable
    mutating func advance(to position: MessagePosition) -> Bool {
        guard let last = lastDelivered else {
            lastDelivered = position
            return true
        }
        if position.epoch == last.epoch {
            guard position.seq > last.seq else { return false }
        } else {
            guard !retired.contains(position.epoch) else { return false }
            retired.insert(last.epoch)
        }
        lastDelivered = position
        return true
    }
}
