import Synchronization

/// Rooms in process memory: the embedded default.
public final class InMemoryRoomStore: RoomStore {
    private struct State {
        var lastID: Int64 = 0
        var rooms: [RoomID] = []
    }

    private let state = Mutex(State())
    /// Rooms it holds at most; creating more fails with ``ChatError/storageFull(_:)``.
    public let capacity: Int

    public init(capacity: Int = InMemoryCapacity().rooms) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public func create() async throws -> RoomID {
        let capacity = capacity
        return try state.withLock { state throws(ChatError) in
            guard state.rooms.count < capacity else { throw ChatError.storageFull("this server holds at most \(capacity) chat rooms") }
            state.lastID += 1
            let room = RoomID(state.lastID)
            state.rooms.append(room)
            return room
        }
    }

    public func all() async throws -> [RoomID] {
        state.withLock { $0.rooms }
    }

    public func contains(_ room: RoomID) async throws -> Bool {
        // Ids are dense and ascending, and rooms are never deleted.
        state.withLock { room.rawValue >= 1 && room.rawValue <= $0.lastID }
    }
}
