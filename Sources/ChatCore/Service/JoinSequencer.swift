/// The gap-free join as a pure state machine, one per joining connection.
///
/// A joining connection subscribes first, then loads the room's history. Live messages that
/// arrive meanwhile are held here. When history arrives, held messages newer than the history are
/// released in order and the connection goes live; from then on any message at or below the last
/// delivered sequence number is a duplicate and dropped. Nothing is lost (subscribe came first)
/// and nothing is shown twice (sequence numbers decide).
///
/// Generic over the payload so the transport can hold pre-encoded frames rather than messages.
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

    private var held: [(seq: Int64, payload: Payload)] = []
    private var lastDelivered: Int64?
    public private(set) var isLive = false
    /// The most messages held while waiting for history; a bound on a joining connection's memory.
    public let holdLimit: Int

    public init(holdLimit: Int = 10_000) {
        self.holdLimit = holdLimit
    }

    /// A live message arrived from the broker.
    public mutating func receive(seq: Int64, payload: Payload) -> Decision {
        if let lastDelivered, seq <= lastDelivered { return .duplicate }
        guard isLive else {
            guard held.count < holdLimit else { return .overflow }
            held.append((seq, payload))
            return .held
        }
        lastDelivered = seq
        return .deliver
    }

    /// History has been played up to `lastSeq` (`nil`: the room had no history). Returns the held
    /// payloads to deliver now, in order, and goes live.
    public mutating func historyPlayed(through lastSeq: Int64?) -> [Payload] {
        precondition(!isLive, "history can be played once")
        isLive = true
        lastDelivered = lastSeq
        var released: [Payload] = []
        released.reserveCapacity(held.count)
        for (seq, payload) in held where lastDelivered.map({ seq > $0 }) ?? true {
            released.append(payload)
            lastDelivered = seq
        }
        held = []
        return released
    }
}
