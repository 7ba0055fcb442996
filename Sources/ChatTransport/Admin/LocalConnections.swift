import ChatCore
import NIOCore
import NIOWebSocket
import Synchronization

/// This server's joined WebSockets: who is in which room, and a way to close them. What the
/// admin API reads for rooms, presence and the node heartbeat, and what a disconnect command
/// closes; it also keeps `chatd_connections`.
///
/// Touched once per join and once per close, never by the fan-out.
final class LocalConnections: Sendable {
    /// Closes one connection with a code and reason; safe from any thread.
    typealias Closer = @Sendable (WebSocketErrorCode, String) -> Void

    private struct Entry {
        let user: UserName
        let room: RoomID
        let close: Closer
    }

    private let entries = Mutex<[ConnectionID: Entry]>([:])
    private let counters: TransportCounters

    init(counters: TransportCounters) {
        self.counters = counters
    }

    func add(_ connection: ConnectionID, user: UserName, room: RoomID, close: @escaping Closer) {
        entries.withLock { $0[connection] = Entry(user: user, room: room, close: close) }
        counters.countConnection(1)
    }

    func remove(_ connection: ConnectionID) {
        guard entries.withLock({ $0.removeValue(forKey: connection) }) != nil else { return }
        counters.countConnection(-1)
    }

    /// How many WebSockets are joined here.
    var count: Int { entries.withLock { $0.count } }

    /// Closes every connection of `user` with `code` and `reason`; returns how many.
    @discardableResult
    func disconnect(_ user: UserName, code: WebSocketErrorCode, reason: String) -> Int {
        let closers = entries.withLock { entries in entries.values.filter { $0.user == user }.map(\.close) }
        for close in closers { close(code, reason) }
        return closers.count
    }

    /// Connections per user per room, for the heartbeat and the admin API.
    func snapshot() -> [RoomID: [UserName: Int]] {
        entries.withLock { entries in
            var rooms: [RoomID: [UserName: Int]] = [:]
            for entry in entries.values { rooms[entry.room, default: [:]][entry.user, default: 0] += 1 }
            return rooms
        }
    }
}
