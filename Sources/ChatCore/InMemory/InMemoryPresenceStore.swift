import Synchronization

/// Presence in process memory: the embedded default, where one process is the whole deployment.
///
/// Presence events are told to watchers under the same lock as the change, so they come in
/// the order of the changes; watchers' closures must be quick.
public final class InMemoryPresenceStore: PresenceStore {
    /// A user's connections in one room: nearly always one, which is held without a set's
    /// storage (about 100 bytes per present user; docs/performance.md).
    private enum Connections {
        case one(ConnectionID)
        case many(Set<ConnectionID>)

        func adding(_ connection: ConnectionID) -> Connections {
            switch self {
            case .one(let only) where only == connection:
                return self
            case .one(let only):
                return .many([only, connection])
            case .many(var set):
                set.insert(connection)
                return .many(set)
            }
        }

        /// Without `connection`; nil when it was the last one; unchanged when it was not there.
        func removing(_ connection: ConnectionID) -> Connections? {
            switch self {
            case .one(let only): return only == connection ? nil : self
            case .many(var set):
                set.remove(connection)
                return set.count == 1 ? .one(set.first!) : .many(set)
            }
        }

        func contains(_ connection: ConnectionID) -> Bool {
            switch self {
            case .one(let only): only == connection
            case .many(let set): set.contains(connection)
            }
        }

        /// The connections not of `server`; nil when none is left.
        func alive(without server: ServerID) -> Connections? {
            switch self {
            case .one(let only): return only.server == server ? nil : self
            case .many(let set):
                let kept = set.filter { $0.server != server }
                return kept.isEmpty ? nil : kept.count == 1 ? .one(kept.first!) : .many(kept)
            }
        }
    }

    private struct State {
        /// room → user → that user's connections in the room.
        var rooms: [RoomID: [UserName: Connections]] = [:]
        var watchers: [RoomID: [UInt64: @Sendable (PresenceEvent) -> Void]] = [:]
        var nextWatcher: UInt64 = 0

        func tell(_ event: PresenceEvent) {
            guard let watching = watchers[event.room] else { return }
            for deliver in watching.values { deliver(event) }
        }
    }

    private let state = Mutex(State())

    public init() {}

    public func enter(_ user: UserName, room: RoomID, connection: ConnectionID) async throws {
        state.withLock { state in
            let existing = state.rooms[room]?[user]
            state.rooms[room, default: [:]][user] = existing?.adding(connection) ?? .one(connection)
            if existing == nil { state.tell(PresenceEvent(room: room, user: user, kind: .join)) }
        }
    }

    public func leave(_ user: UserName, room: RoomID, connection: ConnectionID) async throws {
        state.withLock { state in
            guard let connections = state.rooms[room]?[user], connections.contains(connection) else { return }
            let remaining = connections.removing(connection)
            state.rooms[room]![user] = remaining
            if state.rooms[room]!.isEmpty { state.rooms[room] = nil }
            if remaining == nil { state.tell(PresenceEvent(room: room, user: user, kind: .leave)) }
        }
    }

    public func users(in room: RoomID) async throws -> [UserName] {
        state.withLock { $0.rooms[room].map { $0.keys.sorted() } ?? [] }
    }

    public func reap(server: ServerID) async throws {
        state.withLock { state in
            for (room, users) in state.rooms {
                var kept: [UserName: Connections] = [:]
                for (user, connections) in users {
                    if let alive = connections.alive(without: server) {
                        kept[user] = alive
                    } else {
                        state.tell(PresenceEvent(room: room, user: user, kind: .leave))
                    }
                }
                state.rooms[room] = kept.isEmpty ? nil : kept
            }
        }
    }

    public func watch(_ room: RoomID, deliver: @escaping @Sendable (PresenceEvent) -> Void) async throws -> any BrokerSubscription {
        let id = state.withLock { state in
            state.nextWatcher += 1
            state.watchers[room, default: [:]][state.nextWatcher] = deliver
            return state.nextWatcher
        }
        return Watch(store: self, room: room, id: id)
    }

    private func unwatch(room: RoomID, id: UInt64) {
        state.withLock { state in
            state.watchers[room]?[id] = nil
            if state.watchers[room]?.isEmpty == true { state.watchers[room] = nil }
        }
    }

    private struct Watch: BrokerSubscription {
        let store: InMemoryPresenceStore
        let room: RoomID
        let id: UInt64

        func cancel() async {
            store.unwatch(room: room, id: id)
        }
    }
}
