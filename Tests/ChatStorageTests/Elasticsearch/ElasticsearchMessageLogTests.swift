import ChatCore
import ChatCoreTesting
import ChatStorage
import Foundation
import Testing
import ChatTestServices

/// The MessageLog contract and the adapter's own promises, against the in-process stand-in.
@Suite struct ElasticsearchMessageLogTests {
    typealias Fixture = ElasticsearchFixture

    @Test(arguments: MessageLogContract.cases)
    func contract(_ contract: ContractCase<any MessageLog>) async throws {
        try await Fixture.run { _, log in
            try await contract.run(against: log)
        }
    }

    @Test func everyMessagePostedDuringAnOutageIsIndexedExactlyOnceAfterIt() async throws {
        var settings = Fixture.fastSettings
        settings.batchSize = 7  // several batches, one of them partial
        try await Fixture.run(settings: settings) { fake, log in
            let room = RoomID(7)
            fake.with { $0.unavailable = true }
            for seq in 1...50 {
                try await log.append([Fixture.message(room, seq: Int64(seq))])
            }
            #expect(await Fixture.eventually { fake.with { $0.counters.refusedWhileDown } >= 3 }, "the indexer kept retrying")
            #expect(fake.documentIDs.isEmpty)
            #expect(await log.indexer.backlog == 50)
            fake.with { $0.unavailable = false }
            #expect(await Fixture.eventually { await log.indexer.backlog == 0 })
            #expect(fake.documentIDs == (1...50).map { "7-0-\($0)" }.sorted())
            #expect(fake.documents(in: 7).map(\.seq) == Array(1...50))
            #expect(fake.with { $0.counters.created } == 50)
            let counters = log.indexer.metrics
            #expect(counters.indexed == 50 && counters.dropped == 0 && counters.rejected == 0)
            #expect(counters.failedAttempts >= 3)
            #expect(try await log.history(of: room, before: nil, limit: 100).map(\.seq) == Array(1...50))
        }
    }

    @Test func aRetriedBatchWhoseWritesWereAppliedIsNotDuplicated() async throws {
        var settings = Fixture.fastSettings
        settings.batchSize = 100
        try await Fixture.run(settings: settings) { fake, log in
            let room = RoomID(8)
            try await log.append((1...3).map { Fixture.message(room, seq: $0) })
            #expect(await Fixture.eventually { await log.indexer.backlog == 0 })
            // The next bulk is applied but its answer is lost (503): the indexer must resend
            // the whole batch, and the items already stored come back 409.
            fake.with { $0.loseBulkAnswers = 1 }
            try await log.append((1...6).map { Fixture.message(room, seq: $0) })
            #expect(await Fixture.eventually { await log.indexer.backlog == 0 })
            #expect(fake.documentIDs == (1...6).map { "8-0-\($0)" }.sorted())
            #expect(fake.with { $0.counters.created } == 6)
            #expect(fake.with { $0.counters.bulkRequests } == 3)
            let counters = log.indexer.metrics
            #expect(counters.indexed == 3, "1-3 from the first batch; 4-6 were created by the lost request")
            #expect(counters.alreadyIndexed == 6, "every item of the resent batch; the lost answer was never read")
            #expect(counters.failedAttempts == 1)
        }
    }

    @Test func concurrentHistoryQueriesOfARoomShareOneSearch() async throws {
        try await Fixture.run { fake, log in
            let room = RoomID(9)
            try await log.append((1...30).map { Fixture.message(room, seq: $0) })
            _ = try await log.history(of: room, before: nil, limit: 1)  // waits for the writes
            fake.with {
                $0.counters.searchRequests = 0
                $0.holdSearchAnswers = true
            }
            let results = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<50 {
                    group.addTask { try await log.history(of: room, before: 25, limit: 10).map(\.seq) }
                }
                // Answer only once every other caller has joined the first query.
                #expect(await Fixture.eventually { MetricsText(factory: log.metrics).int("chatd_history_reads_shared_total") == 49 })
                fake.with { $0.holdSearchAnswers = false }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 50)
            #expect(results.allSatisfy { $0 == Array(15...24) })
            #expect(fake.with { $0.counters.searchRequests } == 1)
            #expect(MetricsText(factory: log.metrics).int("chatd_elasticsearch_searches_total", ["query": "history"]) == 2, "the first read's and the shared one")
            // Different arguments are different queries.
            #expect(try await log.history(of: room, before: 5, limit: 10).map(\.seq) == [1, 2, 3, 4])
            #expect(fake.with { $0.counters.searchRequests } == 2)
        }
    }

    @Test func aHistoryQueryIssuedBeforeAWriteWasConfirmedIsNotShared() async throws {
        try await Fixture.run { fake, log in
            let room = RoomID(10)
            try await log.append([Fixture.message(room, seq: 1)])
            fake.with { $0.searchDelay = .seconds(1) }
            async let early = log.history(of: room, before: nil, limit: 10)
            // Once the fake counted the early search it has taken its snapshot (same lock);
            // its answer is then held back, so the early query is still in flight below.
            #expect(await Fixture.eventually { fake.with { $0.counters.searchRequests } == 1 })
            try await log.append([Fixture.message(room, seq: 2)])
            let late = try await log.history(of: room, before: nil, limit: 10)
            #expect(late.map(\.seq) == [1, 2], "the late reader sees its own write")
            #expect(try await early.map(\.seq) == [1])
            #expect(fake.with { $0.counters.searchRequests } == 2)
        }
    }

    @Test func queuedMessagesAreFlushedOnShutdown() async throws {
        var settings = Fixture.fastSettings
        settings.flushInterval = .seconds(30)  // nothing would be sent on its own for a while
        settings.batchSize = 1_000
        let fake = try await FakeElasticsearch.start()
        let log = ElasticsearchMessageLog(client: ElasticsearchClient(endpoint: try Fixture.endpoint(fake)), indexer: settings, metrics: ChatLogMetrics.measured(), logger: Fixture.logger)
        try await ElasticsearchIndexTemplate.install(on: log.client)
        try await log.append((1...5).map { Fixture.message(RoomID(11), seq: $0) })
        await log.shutdown(within: .seconds(5))
        #expect(fake.documentIDs == (1...5).map { "11-0-\($0)" })
        await fake.stop()
    }

    @Test func aFullBufferRefusesTheExcessAndCountsIt() async throws {
        var settings = Fixture.fastSettings
        settings.capacity = 5
        try await Fixture.run(settings: settings) { fake, log in
            fake.with { $0.unavailable = true }
            let room = RoomID(12)
            await #expect(throws: ElasticsearchError.self) {
                try await log.append((1...8).map { Fixture.message(room, seq: $0) })
            }
            #expect(log.indexer.metrics.dropped == 3)
            fake.with { $0.unavailable = false }
            #expect(await Fixture.eventually { await log.indexer.backlog == 0 })
            #expect(fake.documents(in: 12).map(\.seq) == [1, 2, 3, 4, 5])
        }
    }

    @Test func aDocumentElasticsearchRejectsIsCountedNotRetriedForever() async throws {
        try await Fixture.run { fake, log in
            let room = RoomID(13)
            fake.with { $0.rejectMessagesContaining = "poison" }
            try await log.append([Fixture.message(room, seq: 1, "fine"), Fixture.message(room, seq: 2, "poison"), Fixture.message(room, seq: 3, "fine")])
            #expect(await Fixture.eventually { await log.indexer.backlog == 0 })
            #expect(log.indexer.metrics.rejected == 1)
            #expect(log.indexer.metrics.failedAttempts == 0)
            #expect(fake.documents(in: 13).map(\.seq) == [1, 3])
        }
    }

    @Test func searchUsesMatchAndPagingInOneRoom() async throws {
        try await Fixture.run { fake, log in
            let room = RoomID(14)
            try await log.append((1...30).map { Fixture.message(room, seq: $0, $0 % 2 == 0 ? "even Number \($0)" : "odd number") })
            try await log.append([Fixture.message(RoomID(15), seq: 1, "even number")])
            let page = try await log.search(in: room, matching: "NUMBER even", limit: 5, offset: 5)
            #expect(page.map(\.seq) == [20, 18, 16, 14, 12])
            #expect(try await log.search(in: room, matching: "  ", limit: 5, offset: 0).isEmpty)
            #expect(try await log.search(in: room, matching: "absent even", limit: 5, offset: 0).isEmpty)
        }
    }

    @Test func messagesGoToTheIndexOfTheirMonth() async throws {
        try await Fixture.run { fake, log in
            let room = RoomID(16)
            let november = Fixture.message(room, seq: 1, timestamp: 1_732_860_000_000)  // 2024-11-29
            let leapDay = Fixture.message(room, seq: 2, timestamp: 951_782_400_000)  // 2000-02-29
            #expect(ElasticsearchIndexTemplate.index(for: november) == "chat-messages-2024.11")
            #expect(ElasticsearchIndexTemplate.index(for: leapDay) == "chat-messages-2000.02")
            #expect(ElasticsearchIndexTemplate.index(for: Fixture.message(room, seq: 0, timestamp: -1)) == "chat-messages-1969.12")
            try await log.append([november, leapDay])
            #expect(try await log.history(of: room, before: nil, limit: 10).map(\.seq) == [1, 2], "read across the monthly indices")
            #expect(Set(fake.with { Array($0.indices.keys) }) == ["chat-messages-2024.11", "chat-messages-2000.02"])
        }
    }

    @Test func messagesPostedThroughTheServiceDuringAnOutageAreIndexedOnceAfterIt() async throws {
        try await Fixture.run { fake, log in
            var backends = ChatBackends.inMemory()
            backends.log = log
            let service = ChatService(backends: backends, server: .random(), logger: Fixture.logger)
            let room = try await service.createRoom()
            let user = UserName(trusted: "alice")
            fake.with { $0.unavailable = true }
            for number in 1...20 {
                _ = try await service.post("message \(number)", by: user, in: room)  // posting never fails for the archive
            }
            await #expect(throws: ChatError.self) { try await service.search(in: room, matching: "message", limit: 5, offset: 0) }
            fake.with { $0.unavailable = false }
            #expect(await Fixture.eventually { await log.indexer.backlog == 0 })
            #expect(fake.documents(in: room.rawValue).map(\.message) == (1...20).map { "message \($0)" })
            #expect(fake.with { $0.counters.created } == 20)
            #expect(try await service.search(in: room, matching: "MESSAGE 7", limit: 5, offset: 0).map(\.seq) == [7])
        }
    }

    @Test func elasticsearchErrorsReachTheCallerWithTheirTypeAndReason() async throws {
        try await Fixture.run { _, log in
            do {
                _ = try await log.search(in: RoomID(17), matching: "hello", limit: 10, offset: 9_995)
                Issue.record("a window beyond 10,000 was accepted")
            } catch {
                #expect("\(error)".contains("400"), "\(error)")
                #expect("\(error)".contains("illegal_argument_exception: Result window is too large"), "\(error)")
            }
        }
    }
}
