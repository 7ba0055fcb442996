import ChatCore
import Testing

/// The in-memory stores stop at their caps with `storageFull`, and keep what they hold.
@Suite struct InMemoryCapacityTests {
    @Test func theUserStoreStopsAtItsCapacity() async throws {
        let users = InMemoryUserStore(capacity: 2)
        try await users.create(UserName(trusted: "a"))
        try await users.create(UserName(trusted: "b"))
        await #expect(throws: ChatError.userNameTaken(UserName(trusted: "a")), "a taken name is still reported as taken") {
            try await users.create(UserName(trusted: "a"))
        }
        await #expect(throws: ChatError.storageFull("this server holds at most 2 users")) { try await users.create(UserName(trusted: "c")) }
        try await users.deleteAll()
        try await users.create(UserName(trusted: "c"))
    }

    @Test func theRoomStoreStopsAtItsCapacity() async throws {
        let rooms = InMemoryRoomStore(capacity: 1)
        let room = try await rooms.create()
        await #expect(throws: ChatError.storageFull("this server holds at most 1 chat rooms")) { _ = try await rooms.create() }
        #expect(try await rooms.all() == [room])
        #expect(try await rooms.contains(room))
    }

    @Test func searchingOneRoomSeesOnlyItsOwnLog() async throws {
        let log = InMemoryMessageLog()
        var messages: [ChatMessage] = []
        for index in 1...6 {
            let room = RoomID(Int64(index % 2 + 1))
            let seq = Int64((index + 1) / 2)
            messages.append(ChatMessage(room: room, user: UserName(trusted: "u"), text: "word \(index)", timestamp: 0, seq: seq))
        }
        try await log.append(messages)
        let found = try await log.search(in: RoomID(1), matching: "word", limit: 10, offset: 0)
        #expect(found.map(\.text) == ["word 6", "word 4", "word 2"])
        #expect(try await log.history(of: RoomID(2), before: nil, limit: 10).map(\.text) == ["word 1", "word 3", "word 5"])
    }
}
