import NIOCore
import Synchronization

/// Counts open connections per client address and in total, and paces new connections per
/// address; asked once per accepted connection, before anything is read from it.
///
/// A connection from a trusted proxy is counted in the total at accept and against its
/// client's address once its first request head names that client (``ClientAddress``).
/// The rules are a value (``Ledger``), tested with a hand-made clock; the class only guards it.
final class ConnectionLimiter: Sendable {
    enum Verdict: Equatable {
        case admitted
        /// Refused: the address holds too many connections or opens them too fast (429).
        case tooManyFromAddress(String)
        /// Refused: the server holds as many connections as it may (503).
        case serverFull(String)
    }

    /// Per-address counts and token buckets. Entries of addresses with no open connection are
    /// dropped once their bucket is full again, so memory follows the open connections.
    struct Ledger {
        struct Entry {
            var open = 0
            var tokens: Double
            var refilled: NIODeadline
        }

        let limits: AbuseLimits
        private(set) var open = 0
        private(set) var entries: [String: Entry] = [:]
        private var admittedSinceSweep = 0

        init(limits: AbuseLimits) {
            self.limits = limits
        }

        /// A new connection from `address`: counted in the total and against the address.
        mutating func admit(_ address: String, now: NIODeadline) -> Verdict {
            guard open < limits.maximumConnections else { return Self.serverFull(limits) }
            let verdict = admitAddress(address, now: now)
            if verdict == .admitted { open += 1 }
            return verdict
        }

        /// A new connection whose client is not known yet (it comes through a trusted proxy).
        mutating func admitUnattributed() -> Verdict {
            guard open < limits.maximumConnections else { return Self.serverFull(limits) }
            open += 1
            return .admitted
        }

        /// Counts an already admitted connection against the client `address`.
        mutating func admitAddress(_ address: String, now: NIODeadline) -> Verdict {
            let rate = Double(limits.newConnectionsPerSecondPerAddress)
            var entry = entries[address] ?? Entry(tokens: rate, refilled: now)
            entry.tokens = min(rate, entry.tokens + Double((now - entry.refilled).nanoseconds) / 1e9 * rate)
            entry.refilled = now
            defer { entries[address] = entry }
            guard entry.open < limits.maximumConnectionsPerAddress else {
                return .tooManyFromAddress("too many connections from your address (at most \(limits.maximumConnectionsPerAddress) at once)")
            }
            guard entry.tokens >= 1 else {
                return .tooManyFromAddress("too many new connections from your address (at most \(limits.newConnectionsPerSecondPerAddress) per second)")
            }
            entry.tokens -= 1
            entry.open += 1
            admittedSinceSweep += 1
            if admittedSinceSweep >= 1_024 { sweep(now: now) }
            return .admitted
        }

        /// A connection closed: out of the total, and out of its address's count when it had one.
        mutating func release(_ address: String?) {
            if open > 0 { open -= 1 }
            guard let address, var entry = entries[address], entry.open > 0 else { return }
            entry.open -= 1
            entries[address] = entry
        }

        private static func serverFull(_ limits: AbuseLimits) -> Verdict {
            .serverFull("the server is at its connection limit (\(limits.maximumConnections)); try again later")
        }

        /// Drops idle addresses whose bucket has refilled: they would be created afresh the same.
        private mutating func sweep(now: NIODeadline) {
            admittedSinceSweep = 0
            // A bucket holds one second's worth of connections: a second after its last use it is full.
            entries = entries.filter { $0.value.open > 0 || now - $0.value.refilled < .seconds(1) }
        }
    }

    private let ledger: Mutex<Ledger>

    init(limits: AbuseLimits) {
        ledger = Mutex(Ledger(limits: limits))
    }

    func admit(_ address: String) -> Verdict {
        let now = NIODeadline.now()
        return ledger.withLock { $0.admit(address, now: now) }
    }

    func admitUnattributed() -> Verdict {
        ledger.withLock { $0.admitUnattributed() }
    }

    func admitAddress(_ address: String) -> Verdict {
        let now = NIODeadline.now()
        return ledger.withLock { $0.admitAddress(address, now: now) }
    }

    func release(_ address: String?) {
        ledger.withLock { $0.release(address) }
    }

    var openConnections: Int { ledger.withLock { $0.open } }
}
