import Synchronization

/// Shares reads of a room's recent history between joins that ask for it at the same time.
///
/// A crowd joining one room (clients reconnecting after a restart, a popular room opening)
/// would otherwise read and decode the same messages once per joiner: with Redis, 1,000 joins
/// of a room with 100 messages of history cost 100,000 decoded stream entries, and the join
/// storm's p99 went from 0.5 s in memory to 1.8 s (docs/performance.md). Here a join that
/// finds a read of its room in flight waits for the *next* read, which then serves every join
/// that queued behind it; so a storm costs a few reads, not one per joiner.
///
/// Never the read in flight: it may have started before the joiner began holding live
/// messages, and a message published in between would then be in neither the history nor the
/// held messages. A read that starts after the caller asked cannot miss it (the gap-free join,
/// ``JoinSequencer``).
final class RecentHistoryBatcher: Sendable {
    typealias Read = @Sendable (RoomID, Int) async throws -> [ChatMessage]

    private struct Waiter {
        var limit: Int
        var continuation: CheckedContinuation<[ChatMessage], any Error>
    }

    private struct RoomReads {
        /// Joins that asked while a read was in flight; served by the next read.
        var waiting: [Waiter] = []
    }

    /// Rooms with a read in flight.
    private let rooms = Mutex<[RoomID: RoomReads]>([:])
    private let read: Read

    init(read: @escaping Read) {
        self.read = read
    }

    /// The room's latest `limit` messages, oldest first, from a read that started after this call.
    func recentHistory(of room: RoomID, limit: Int) async throws -> [ChatMessage] {
        let leads = rooms.withLock { rooms -> Bool in
            guard rooms[room] == nil else { return false }
            rooms[room] = RoomReads()
            return true
        }
        if leads {
            let result = await Result(catching: { try await read(room, limit) })
            serveWaiting(room)
            return try result.get()
        }
        return try await withCheckedThrowingContinuation { continuation in
            let queued = rooms.withLock { rooms -> Bool in
                guard rooms[room] != nil else { return false }
                rooms[room]!.waiting.append(Waiter(limit: limit, continuation: continuation))
                return true
            }
            // The read in flight ended between the two locks: read for this caller alone.
            if !queued {
                Task { continuation.resume(with: await Result(catching: { try await self.recentHistory(of: room, limit: limit) })) }
            }
        }
    }

    /// After a read: one more for everyone who queued during it, until nobody is waiting.
    private func serveWaiting(_ room: RoomID) {
        let batch = rooms.withLock { rooms -> [Waiter] in
            let waiting = rooms[room]?.waiting ?? []
            if waiting.isEmpty {
                rooms[room] = nil
            } else {
                rooms[room]!.waiting = []
            }
            return waiting
        }
        guard !batch.isEmpty else { return }
        let limit = batch.map(\.limit).max()!
        Task {
            let result = await Result(catching: { try await self.read(room, limit) })
            for waiter in batch {
                // A larger read holds every smaller one as its newest messages.
                waiter.continuation.resume(with: result.map { Array($0.suffix(waiter.limit)) })
            }
            self.serveWaiting(room)
        }
    }
}

extension Result where Failure == any Error {
    fileprivate init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
