import ChatCore
@testable import ChatStorage
import ChatTestServices
import Logging
import Testing

/// The durable chat log: the publish script appends to the room's partition stream
/// (`chat:log:{chat:pN}`), consumer-group indexers write it to (the stand-in for) Elasticsearch.
/// Against a real redis-server, in a database of its own (the streams are one set per
/// deployment), and on a one-node cluster (``RedisTarget``), one case at a time.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisChatLogIndexerTests {
    static let database = 7

    final class Setup: Sendable {
        let fake: FakeElasticsearch
        let client: ElasticsearchClient
        let configuration: RedisConfiguration
        let admin: RedisClient
        let broker: RedisMessageBroker

        init(_ target: RedisTarget = .plain) async throws {
            fake = try await FakeElasticsearch.start()
            client = ElasticsearchClient(endpoint: try BackendEndpoint(kind: .elasticsearch, url: fake.url))
            try await ElasticsearchIndexTemplate.install(on: client)
            configuration = try target.configuration(database: RedisChatLogIndexerTests.database)
            admin = RedisClient(configuration: configuration, logger: TestRedis.logger)
            for stream in RedisKeys.chatLogs + [RedisKeys.legacyChatLog] { _ = try await admin.command(["DEL", stream]) }
            broker = RedisMessageBroker(configuration: configuration, chatLogCapacity: 100_000, logger: TestRedis.logger)
        }

        func indexer(claimAfter: Duration = .seconds(30), batchSize: Int = 50) -> RedisChatLogIndexer {
            var settings = RedisChatLogSettings()
            settings.claimAfter = claimAfter
            settings.batchSize = batchSize
            settings.readBlock = .milliseconds(100)
            settings.initialBackoff = .milliseconds(10)
            settings.maximumBackoff = .milliseconds(100)
            return RedisChatLogIndexer(
                configuration: configuration, elasticsearch: client, server: .random(), settings: settings,
                metrics: ChatLogMetrics.measured(), logger: TestRedis.logger
            )
        }

        func publish(_ count: Int, in room: RoomID) async throws -> [ChatMessage] {
            var messages: [ChatMessage] = []
            for index in 1...count {
                messages.append(try await broker.publish(MessageDraft(room: room, user: UserName(trusted: "t"), text: "m\(index)", timestamp: 1_732_860_000_000)).message)
            }
            return messages
        }

        func figures() async throws -> ChatLogFigures { try await RedisChatLogIndexer.figures(on: admin) }

        func close() async {
            await broker.shutdown()
            await admin.shutdown()
            await client.shutdown()
            await fake.stop()
        }
    }

    @Test(arguments: RedisTarget.allCases)
    func everyPublishedMessageIsIndexedOnceWithTheEpochInItsID(_ target: RedisTarget) async throws {
        let setup = try await Setup(target)
        let indexer = setup.indexer()
        indexer.start()
        let room = uniqueRoom()
        let published = try await setup.publish(120, in: room)
        #expect(setup.broker.feedsChatLog)
        #expect(try await eventually(within: .seconds(20)) { setup.fake.documents(in: room.rawValue).count == 120 })
        let epoch = published[0].epoch.rawValue
        #expect(setup.fake.documents(in: room.rawValue).map(\.id) == (1...120).map { "\(room.rawValue)-\(epoch)-\($0)" })
        #expect(try await eventually(within: .seconds(10)) { try await setup.figures().pending == 0 }, "every entry acknowledged")
        // A `_bulk` whose answer came too late is sent again and answered 409: still once.
        #expect(indexer.metrics.indexed + indexer.metrics.alreadyIndexed >= 120)
        #expect(setup.fake.with { $0.counters.created } == 120)
        let figures = try await indexer.figures()
        #expect(figures.pending == 0 && figures.oldestPendingAge == nil)
        await indexer.stop()
        await setup.close()
    }

    /// What a SIGKILLed chatd leaves: entries read by its consumers and never acknowledged.
    @Test(arguments: RedisTarget.allCases)
    func entriesADeadIndexerLeftPendingAreIndexedOnceByTheSurvivor(_ target: RedisTarget) async throws {
        let setup = try await Setup(target)
        setup.fake.with { $0.unavailable = true }
        let dead = setup.indexer()
        dead.start()
        let room = uniqueRoom()
        _ = try await setup.publish(100, in: room)
        // While Elasticsearch refuses, each consumer keeps retrying the batch it read.
        #expect(try await eventually(within: .seconds(20)) { try await setup.figures().pending > 0 }, "the dead one holds entries")
        await dead.abandon()
        let stranded = try await setup.figures().pending
        setup.fake.with { $0.unavailable = false }
        let survivor = setup.indexer(claimAfter: .milliseconds(300))
        survivor.start()
        #expect(try await eventually(within: .seconds(20)) { setup.fake.documents(in: room.rawValue).count == 100 })
        #expect(try await eventually(within: .seconds(10)) { try await setup.figures().pending == 0 })
        #expect(setup.fake.with { $0.counters.created } == 100, "each indexed once")
        #expect(survivor.metrics.claimed >= Int(stranded), "what the dead one held was claimed")
        await survivor.stop()
        await setup.close()
    }

    @Test(arguments: RedisTarget.allCases)
    func anElasticsearchOutageLosesNothingAndDoublesNothing(_ target: RedisTarget) async throws {
        let setup = try await Setup(target)
        let indexer = setup.indexer(batchSize: 20)
        setup.fake.with { state in
            state.unavailable = true
        }
        indexer.start()
        let room = uniqueRoom()
        _ = try await setup.publish(60, in: room)
        let during = try await setup.figures()
        #expect(during.length >= 60)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await setup.figures().oldestPendingAge != nil, "entries wait, pending, while Elasticsearch is down")
        // Back, but the first answer is lost after its writes were applied: the retry gets 409s.
        setup.fake.with { state in
            state.unavailable = false
            state.loseBulkAnswers = 1
        }
        #expect(try await eventually(within: .seconds(20)) { setup.fake.documents(in: room.rawValue).count == 60 })
        #expect(try await eventually(within: .seconds(10)) { try await setup.figures().pending == 0 })
        #expect(setup.fake.documents(in: room.rawValue).map(\.seq) == Array(1...60))
        #expect(setup.fake.with { $0.counters.created } == 60)
        #expect(indexer.metrics.alreadyIndexed > 0, "the retried batch was answered 409")
        await indexer.stop()
        await setup.close()
    }

    /// The counter set back: the next message is logged under a new epoch, not taken for seq 2.
    @Test(arguments: RedisTarget.allCases)
    func aMessageAfterTheCounterWasSetBackIsLoggedUnderANewEpoch(_ target: RedisTarget) async throws {
        let setup = try await Setup(target)
        let indexer = setup.indexer()
        indexer.start()
        let room = uniqueRoom()
        let before = try await setup.publish(3, in: room)
        _ = try await setup.admin.command(["SET", RedisKeys.sequence(room), "1"])
        let after = try await setup.publish(1, in: room)[0]
        #expect(after.epoch != before[0].epoch)
        #expect(try await eventually(within: .seconds(20)) { setup.fake.documents(in: room.rawValue).count == 4 })
        #expect(setup.fake.documents(in: room.rawValue).map(\.id).last == "\(room.rawValue)-\(after.epoch.rawValue)-\(after.seq)")
        await indexer.stop()
        await setup.close()
    }

    /// The upgrade from the single `chat:log` stream (docs/operations.md, "Redis key layout"):
    /// what the old indexers left there, unread or pending with a consumer that is gone, is
    /// indexed once by the new ones, which then stop reading the drained stream.
    @Test func theStreamOfTheLayoutBeforePartitionsIsDrained() async throws {
        let setup = try await Setup()
        let room = uniqueRoom()
        _ = try await setup.publish(30, in: room)
        // Move the messages to the old stream, as the old publish script wrote them.
        let stream = RedisKeys.chatLog(of: room)
        let entries = try await setup.admin.command(["XRANGE", stream, "-", "+"]).array ?? []
        for entry in entries {
            guard let fields = entry.array?.last?.array, fields.count == 2, let payload = fields[1].string else { continue }
            _ = try await setup.admin.command(["XADD", RedisKeys.legacyChatLog, "*", "message", payload])
        }
        _ = try await setup.admin.command(["DEL", stream])
        #expect(try await setup.admin.command(["XLEN", RedisKeys.legacyChatLog]).int == 30)
        // An old indexer read ten of them and died.
        _ = try await setup.admin.command(["XGROUP", "CREATE", RedisKeys.legacyChatLog, RedisKeys.chatLogGroup, "0"])
        _ = try await setup.admin.command(["XREADGROUP", "GROUP", RedisKeys.chatLogGroup, "old-0", "COUNT", "10", "STREAMS", RedisKeys.legacyChatLog, ">"])
        #expect(try await setup.figures().pending == 10)

        let indexer = setup.indexer(claimAfter: .milliseconds(300))
        indexer.start()
        #expect(try await eventually(within: .seconds(20)) { setup.fake.documents(in: room.rawValue).count == 30 })
        #expect(try await eventually(within: .seconds(10)) { try await setup.figures().pending == 0 })
        #expect(setup.fake.with { $0.counters.created } == 30, "each indexed once")
        #expect(indexer.metrics.claimed >= 10, "the old consumer's entries were claimed")
        await indexer.stop()
        await setup.close()
    }

    /// The figure in docs/performance.md: one chatd's indexers draining a backlog into the
    /// stand-in. Prints the rate; asserts only that every message arrived once.
    @Test func throughputOfOneChatdsIndexers() async throws {
        let setup = try await Setup()
        let room = uniqueRoom()
        let count = 10_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<50 {
                group.addTask {
                    for index in stride(from: worker, to: count, by: 50) {
                        _ = try await setup.broker.publish(MessageDraft(room: room, user: UserName(trusted: "t"), text: "message number \(index)", timestamp: 1_732_860_000_000))
                    }
                }
            }
            try await group.waitForAll()
        }
        let indexer = setup.indexer(batchSize: 500)
        let start = ContinuousClock.now
        indexer.start()
        #expect(try await eventually(within: .seconds(60)) { try await setup.figures().pending == 0 && setup.fake.with { $0.counters.created } >= count })
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("chat log indexing: \(count) messages in \(String(format: "%.2f", seconds)) s = \(Int(Double(count) / seconds)) messages/s (4 batches of 500 in flight, Elasticsearch stand-in)")
        #expect(setup.fake.documents(in: room.rawValue).count == count)
        await indexer.stop()
        await setup.close()
    }
}
