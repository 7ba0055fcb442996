import Synchronization

/// Presence in process memory: the embedded default, where one process is the whole deployment.
///
/// Presence events are told to watchers under the same lock as the change, so they come in
/// the order of the changes; watchers' closures must be quick.
public final class InMemoryPresenceStore: PresenceStore {
    private struct State {
        /// room → user → that user's connections in the room.
        var rooms: [RoomID: [UserName: Set<ConnectionID>]] = [:]
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
            let first = state.rooms[room]?[user] == nil
            state.rooms[room, default: [:]][user, default: []].insert(connection)
            if first { state.tell(PresenceEvent(room: room, user: user, kind: .join)) }
        }
    }

    public func leave(_ user: UserName, room: RoomID, connection: ConnectionID) async throws {
        state.withLock { state in
            guard var users = state.rooms[room], var connections = users[user], connections.remove(connection) != nil else { return }
            users[user] = connections.isEmpty ? nil : connections
            state.rooms[room] = users.isEmpty ? nil : users
            if connections.isEmpty { state.tell(PresenceEvent(room: room, user: user, kind: .leave)) }
        }
    }

    public func users(in room: RoomID) async throws -> [UserName] {
        state.withLock { $0.rooms[room].map { $0.keys.sorted() } ?? [] }
    }

    public func reap(server: ServerID) async throws {
        state.withLock { state in
            for (room, users) in state.rooms {
                var kept: [UserName: Set<ConnectionID>] = [:]
                for (user, connections) in users {
                    let alive = connections.filter { $0.server != server }
                    if alive.isEmpty {
                        state.tell(PresenceEvent(room: room, user: user, kind: .leave))
                    } else {
                        kept[user] = alive
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
