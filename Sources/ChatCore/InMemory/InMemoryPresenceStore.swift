import Synchronization

/// Presence in process memory: the embedded default, where one process is the whole deployment.
public final class InMemoryPresenceStore: PresenceStore {
    /// room → user → that user's connections in the room.
    private let rooms = Mutex<[RoomID: [UserName: Set<ConnectionID>]]>([:])

    public init() {}

    public func enter(_ user: UserName, room: RoomID, connection: ConnectionID) async throws {
        rooms.withLock { _ = $0[room, default: [:]][user, default: []].insert(connection) }
    }

    public func leave(_ user: UserName, room: RoomID, connection: ConnectionID) async throws {
        rooms.withLock { rooms in
            guard var users = rooms[room], var connections = users[user] else { return }
            connections.remove(connection)
            users[user] = connections.isEmpty ? nil : connections
            rooms[room] = users.isEmpty ? nil : users
        }
    }

    public func users(in room: RoomID) async throws -> [UserName] {
        rooms.withLock { $0[room].map { $0.keys.sorted() } ?? [] }
    }

    public func reap(server: ServerID) async throws {
        rooms.withLock { rooms in
            for (room, users) in rooms {
                var kept: [UserName: Set<ConnectionID>] = [:]
                for (user, connections) in users {
                    let alive = connections.filter { $0.server != server }
                    if !alive.isEmpty { kept[user] = alive }
                }
                rooms[room] = kept.isEmpty ? nil : kept
            }
        }
    }
}
