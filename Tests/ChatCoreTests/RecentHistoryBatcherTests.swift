import Synchronization
import Testing

@testable import ChatCore

/// Joins of one room at the same time share history reads, but never one that began before they asked.
@Suite struct RecentHistoryBatcherTests {
    let room = RoomID(7)

    @Test func aCrowdOfJoinsSharesAFewReadsAndEachGetsItsOwnLimit() async throws {
        let reads = Atomic<Int>(0)
        let batcher = RecentHistoryBatcher { room, limit in
            reads.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(100))
            return (21 - Int64(limit)...20).map { ChatMessage(room: room, user: UserName(trusted: "u"), text: "m\($0)", timestamp: 0, seq: $0) }
        }
        let results = try await withThrowingTaskGroup(of: (Int, [ChatMessage]).self) { group in
            for index in 0..<50 {
                let limit = index % 2 == 0 ? 10 : 5
                group.addTask { (limit, try await batcher.recentHistory(of: room, limit: limit)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 50)
        for (limit, history) in results {
            #expect(history.map(\.seq) == Array(21 - Int64(limit)...20), "the latest \(limit), oldest first")
        }
        #expect(reads.load(ordering: .relaxed) <= 3, "50 joins, \(reads.load(ordering: .relaxed)) reads")
    }

    @Test func aJoinNeverSharesAReadThatBeganBeforeItAsked() async throws {
        let latest = Mutex<Int64>(1)
        let reads = Atomic<Int>(0)
        let (gate, open) = AsyncStream<Void>.makeStream()
        let batcher = RecentHistoryBatcher { room, limit in
            let newest = latest.withLock { $0 }  // what a read sees is fixed when it starts
            if reads.add(1, ordering: .relaxed).newValue == 1 {
                for await _ in gate { break }
            }
            return (1...newest).suffix(limit).map { ChatMessage(room: room, user: UserName(trusted: "u"), text: "m\($0)", timestamp: 0, seq: $0) }
        }
        let first = Task { try await batcher.recentHistory(of: room, limit: 100) }
        while reads.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(5)) }

        latest.withLock { $0 = 2 }  // published while the first read is in flight
        let second = Task { try await batcher.recentHistory(of: room, limit: 100) }
        try await Task.sleep(for: .milliseconds(50))
        open.yield()

        #expect(try await first.value.map(\.seq) == [1])
        #expect(try await second.value.map(\.seq) == [1, 2], "a read that began before the join asked would miss seq 2")
        #expect(reads.load(ordering: .relaxed) == 2)
    }

    @Test func aFailedReadFailsOnlyTheJoinsItServed() async throws {
        struct Down: Error {}
        let reads = Atomic<Int>(0)
        let batcher = RecentHistoryBatcher { room, _ in
            if reads.add(1, ordering: .relaxed).newValue == 1 { throw Down() }
            return [ChatMessage(room: room, user: UserName(trusted: "u"), text: "m1", timestamp: 0, seq: 1)]
        }
        await #expect(throws: Down.self) { try await batcher.recentHistory(of: room, limit: 10) }
        #expect(try await batcher.recentHistory(of: room, limit: 10).map(\.seq) == [1], "the next read is a new one")
    }
}
