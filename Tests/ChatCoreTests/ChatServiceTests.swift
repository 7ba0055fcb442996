import ChatCore
import MetricsTestKit
import Testing

/// Failing store used to check how the service reports a backend outage.
private struct BrokenRoomStore: RoomStore {
    struct Down: Error {}
    func create() async throws -> RoomID { throw Down() }
    func all() async throws -> [RoomID] { throw Down() }
    func contains(_ room: RoomID) async throws -> Bool { throw Down() }
}

private struct FixedClock: WallClock {
    func millisecondsSinceEpoch() -> Int64 { 1_732_860_000_000 }
}

@Suite struct ChatServiceTests {
    let service = ChatService(backends: .inMemory(), clock: FixedClock())

    @Test func createsUsersAndRefusesTakenAndInvalidNames() async throws {
        #expect(try await service.createUser(named: "John") == UserName(trusted: "John"))
        await #expect(throws: ChatError.userNameTaken(UserName(trusted: "John"))) { try await service.createUser(named: "John") }
        await #expect(throws: ChatError.invalidUserName("name must not be empty")) { try await service.createUser(named: "") }
        try await service.deleteAllUsers()
        #expect(try await service.createUser(named: "John") == UserName(trusted: "John"))
    }

    @Test func roomsAreCreatedAndListed() async throws {
        let first = try await service.createRoom()
        let second = try await service.createRoom()
        #expect(try await service.rooms() == [first, second])
    }

    @Test func admitChecksRoomThenUser() async throws {
        let room = try await service.createRoom()
        _ = try await service.createUser(named: "John")
        #expect(try await service.admit(user: "John", to: room) == UserName(trusted: "John"))
        await #expect(throws: ChatError.unknownRoom(RoomID(99))) { try await service.admit(user: "John", to: RoomID(99)) }
        await #expect(throws: ChatError.unknownUser(UserName(trusted: "Nobody"))) { try await service.admit(user: "Nobody", to: room) }
        await #expect(throws: ChatError.self) { try await service.admit(user: nil, to: room) }
        await #expect(throws: ChatError.self) { try await service.admit(user: "bad\u{0}", to: room) }
    }

    @Test func presenceFollowsConnections() async throws {
        let room = try await service.createRoom()
        let john = try await service.createUser(named: "John")
        let tab1 = service.makeConnectionID()
        let tab2 = service.makeConnectionID()
        #expect(tab1 != tab2)
        try await service.enter(john, room: room, connection: tab1)
        try await service.enter(john, room: room, connection: tab2)
        try await service.leave(john, room: room, connection: tab1)
        #expect(try await service.users(in: room) == [john])
        try await service.leave(john, room: room, connection: tab2)
        #expect(try await service.users(in: room) == [])
        await #expect(throws: ChatError.unknownRoom(RoomID(42))) { try await service.users(in: RoomID(42)) }
    }

    @Test func postStampsSequencesAndRecordsHistory() async throws {
        let room = try await service.createRoom()
        let john = try await service.createUser(named: "John")
        let first = try await service.post("hi", by: john, in: room).message
        let second = try await service.post("there", by: john, in: room).message
        #expect(first == ChatMessage(room: room, user: john, text: "hi", timestamp: 1_732_860_000_000, seq: 1, epoch: first.epoch))
        #expect(second.seq == 2)
        #expect(await service.history(of: room) == [first, second])
        #expect(try await service.search(in: room, matching: "THERE") == [second])
        await #expect(throws: ChatError.invalidMessage("message must not be empty")) { try await service.post("", by: john, in: room) }
    }

    @Test func historyIsCompletedFromTheLogWhenTheBrokerHoldsLess() async throws {
        let backends = ChatBackends(
            users: InMemoryUserStore(), rooms: InMemoryRoomStore(), presence: InMemoryPresenceStore(),
            broker: InMemoryMessageBroker(recentCapacity: 3), log: InMemoryMessageLog()
        )
        let service = ChatService(backends: backends, configuration: .init(historyLimit: 5))
        let room = try await service.createRoom()
        let john = try await service.createUser(named: "John")
        for index in 1...8 { _ = try await service.post("m\(index)", by: john, in: room) }
        #expect(await service.history(of: room).map(\.seq) == [4, 5, 6, 7, 8])
    }

    /// The chat log (Elasticsearch) being down must not refuse joins: the recent history is played.
    @Test func historyFallsBackToTheRecentHistoryWhenTheLogIsDown() async throws {
        struct DownLog: MessageLog {
            struct Down: Error {}
            func append(_ messages: [ChatMessage]) async throws { throw Down() }
            func history(of room: RoomID, before seq: Int64?, limit: Int) async throws -> [ChatMessage] { throw Down() }
            func search(in room: RoomID, matching query: String, limit: Int, offset: Int) async throws -> [ChatMessage] { throw Down() }
            func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange { throw Down() }
        }
        let backends = ChatBackends(
            users: InMemoryUserStore(), rooms: InMemoryRoomStore(), presence: InMemoryPresenceStore(),
            broker: InMemoryMessageBroker(recentCapacity: 3), log: DownLog()
        )
        let service = ChatService(backends: backends, configuration: .init(historyLimit: 5))
        let room = try await service.createRoom()
        #expect(await service.history(of: room).isEmpty, "a new room: nothing, and no failure")
        let john = try await service.createUser(named: "John")
        for index in 1...8 { _ = try? await service.post("m\(index)", by: john, in: room) }
        #expect(await service.history(of: room).map(\.seq) == [6, 7, 8], "what the broker holds")
    }

    @Test func aFailingBackendIsReportedAsUnavailable() async throws {
        var backends = ChatBackends.inMemory()
        backends.rooms = BrokenRoomStore()
        let service = ChatService(backends: backends)
        await #expect(throws: ChatError.backendUnavailable("list rooms")) { try await service.rooms() }
    }
}

@Suite struct CachingRoomStoreTests {
    /// A cache that fails every call, as Redis does when it is down.
    private struct DownCache: ChatCache {
        struct Down: Error {}
        func value(for key: ChatCacheKey) async throws -> [String]? { throw Down() }
        func store(_ value: [String], for key: ChatCacheKey, ttl: Duration) async throws { throw Down() }
        func invalidate(_ key: ChatCacheKey) async throws { throw Down() }
    }

    @Test func servesFromCacheAndInvalidatesOnWrite() async throws {
        let base = InMemoryRoomStore()
        let cache = InMemoryChatCache()
        let store = CachingRoomStore(base: base, cache: cache, logger: .init(label: "test"))
        let first = try await store.create()
        #expect(try await store.all() == [first])
        #expect(try await cache.value(for: .roomList) == ["1"])
        // A room created behind the cache's back is not visible until the entry is invalidated...
        _ = try await base.create()
        #expect(try await store.all() == [first])
        // ...and every write through the store invalidates.
        let third = try await store.create()
        #expect(try await store.all().last == third)
        #expect(try await store.contains(RoomID(2)))
    }

    @Test func aFailingCacheFallsBackToTheStoreAndIsCounted() async throws {
        let metrics = TestMetrics()
        let store = CachingRoomStore(base: InMemoryRoomStore(), cache: DownCache(), metrics: metrics, logger: .init(label: "test"))
        let room = try await store.create()
        #expect(try await store.all() == [room])
        for operation in ["invalidate", "read", "fill"] {
            let failures = try metrics.expectCounter("chatd_room_cache_failures_total", [("operation", operation)])
            #expect(failures.totalValue == 1, "the \(operation) failed once")
        }
    }
}

@Suite struct InMemoryMessageLogTests {
    @Test func keepsTheLatestMessagesOfARoomWithinItsRetention() async throws {
        let log = InMemoryMessageLog(retentionPerRoom: 8)
        let room = RoomID(1)
        let messages = (1...100).map { ChatMessage(room: room, user: UserName(trusted: "u"), text: "m\($0)", timestamp: 0, seq: Int64($0)) }
        for message in messages { try await log.append([message]) }
        let kept = try await log.history(of: room, before: nil, limit: 1_000)
        #expect(kept.count >= 8 && kept.count <= 9, "bounded: \(kept.count)")
        #expect(kept.last?.seq == 100)
        #expect(kept.map(\.seq) == Array((kept.first!.seq)...100))
        // An old message arriving late is not resurrected past the retention.
        try await log.append([messages[0]])
        #expect(try await log.history(of: room, before: nil, limit: 1_000).first?.seq == kept.first?.seq)
    }
}
