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
    private struct Entry {
        let user: UserName
        let room: RoomID
        /// The socket itself rather than a closure that closes it: a closure's context would be
        /// one more allocation per connection.
        let socket: NIOLoopBound<WebSocketProtocolHandler>
    }

    private let entries = Mutex<[ConnectionID: Entry]>([:])
    private let counters: TransportCounters

    init(counters: TransportCounters) {
        self.counters = counters
    }

    /// Lists `socket` until ``remove(_:)``, which the socket's end calls.
    func add(_ connection: ConnectionID, user: UserName, room: RoomID, socket: NIOLoopBound<WebSocketProtocolHandler>) {
        entries.withLock { $0[connection] = Entry(user: user, room: room, socket: socket) }
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
        let sockets = entries.withLock { entries in entries.values.filter { $0.user == user }.map(\.socket) }
        for socket in sockets {
            socket.eventLoop.execute { socket.value.close(code, reason: reason) }
        }
        return sockets.count
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
