import ChatCore
import Testing

/// `ChatService.resume` (what `since=SEQ&epoch=E` plays) and idempotent posts.
@Suite struct ChatServiceResumeTests {
    let broker = InMemoryMessageBroker(recentCapacity: 5)
    let log = InMemoryMessageLog(retentionPerRoom: 20)
    let john = UserName(trusted: "John")

    func service(resumeLimit: Int = 100) -> ChatService {
        let backends = ChatBackends(users: InMemoryUserStore(), rooms: InMemoryRoomStore(), presence: InMemoryPresenceStore(), broker: broker, log: log)
        return ChatService(backends: backends, configuration: .init(historyLimit: 3, resumeLimit: resumeLimit), clock: FixedClock())
    }

    func post(_ count: Int, in room: RoomID, to service: ChatService) async throws -> [ChatMessage] {
        var messages: [ChatMessage] = []
        for index in 1...count { messages.append(try await service.post("m\(index)", by: john, in: room).message) }
        return messages
    }

    @Test func aPositionInsideTheRecentHistoryIsReplayedExactly() async throws {
        let service = service()
        let room = RoomID(1)
        let posted = try await post(8, in: room, to: service)
        #expect(await service.resume(room, after: posted[4].position) == ResumedHistory(messages: Array(posted[5...]), recovered: true))
        #expect(await service.resume(room, after: posted[7].position) == ResumedHistory(messages: [], recovered: true))
    }

    @Test func aPositionInTheLogOnlyIsReplayedFromTheLogThenTheBroker() async throws {
        let service = service()
        let room = RoomID(1)
        let posted = try await post(15, in: room, to: service)
        #expect(await service.resume(room, after: posted[1].position) == ResumedHistory(messages: Array(posted[2...]), recovered: true))
    }

    @Test func theLogLaggingBehindIsCompletedFromTheBroker() async throws {
        let room = RoomID(1)
        var posted: [ChatMessage] = []
        for index in 1...12 { posted.append(try await broker.publish(MessageDraft(room: room, user: john, text: "m\(index)", timestamp: 1)).message) }
        try await log.append(Array(posted[..<9]))  // the log has not caught up with m10…m12
        #expect(await service().resume(room, after: posted[2].position) == ResumedHistory(messages: Array(posted[3...]), recovered: true))
        // A gap between the log and the broker cannot be filled.
        let gapRoom = RoomID(2)
        var gapped: [ChatMessage] = []
        for index in 1...12 { gapped.append(try await broker.publish(MessageDraft(room: gapRoom, user: john, text: "m\(index)", timestamp: 1)).message) }
        try await log.append(Array(gapped[..<5]))
        let resumed = await service().resume(gapRoom, after: gapped[1].position)
        #expect(!resumed.recovered)
        #expect(resumed.messages == Array(gapped[9...]), "the normal recent history")
    }

    @Test func tooOldAnotherEpochOrTooFarBehindIsNotRecovered() async throws {
        let service = service(resumeLimit: 10)
        let room = RoomID(1)
        let posted = try await post(30, in: room, to: service)
        let recent = Array(posted[27...])
        #expect(await service.resume(room, after: posted[2].position) == ResumedHistory(messages: recent, recovered: false), "older than the log keeps")
        #expect(await service.resume(room, after: posted[12].position) == ResumedHistory(messages: recent, recovered: false), "more than the resume limit behind")
        #expect(await service.resume(room, after: MessagePosition(epoch: RoomEpoch(rawValue: "other"), seq: 28)) == ResumedHistory(messages: recent, recovered: false), "another epoch")
        #expect(await service.resume(room, after: posted[19].position) == ResumedHistory(messages: Array(posted[20...]), recovered: true), "exactly the limit")
    }

    @Test func aRetriedPostIDIsPublishedAndLoggedOnce() async throws {
        let service = service()
        let room = RoomID(1)
        let first = try await service.post("hello", by: john, in: room, postID: PostID(rawValue: "c1"))
        let again = try await service.post("hello", by: john, in: room, postID: PostID(rawValue: "c1"))
        #expect(!first.isRepeat)
        #expect(again.isRepeat)
        #expect(again.position == first.position)
        #expect(try await log.history(of: room, before: nil, limit: 10) == [first.message])
        #expect(await service.history(of: room) == [first.message])
    }

    @Test func aPostIDIsForgottenAfterTheWindow() async throws {
        let broker = InMemoryMessageBroker(postIDWindow: .milliseconds(20))
        let draft = MessageDraft(room: RoomID(1), user: john, text: "hi", timestamp: 1, postID: PostID(rawValue: "c1"))
        #expect(try await broker.publish(draft).isRepeat == false)
        #expect(try await broker.publish(draft).isRepeat == true)
        try await Task.sleep(for: .milliseconds(40))
        let later = try await broker.publish(draft)
        #expect(later.isRepeat == false, "after the window the id is new again")
        #expect(later.position.seq == 2)
    }

    @Test func postIDsAreValidated() throws {
        #expect(throws: ChatError.self) { try PostID(validating: "") }
        #expect(throws: ChatError.self) { try PostID(validating: "has space") }
        #expect(throws: ChatError.self) { try PostID(validating: String(repeating: "x", count: PostID.maximumLength + 1)) }
        #expect(try PostID(validating: "c-1_a.b").rawValue == "c-1_a.b")
        #expect(throws: ChatError.self) { try RoomEpoch(validating: "ABC") }
        #expect(try RoomEpoch(validating: RoomEpoch.random().rawValue).rawValue.count == 8)
    }
}

private struct FixedClock: WallClock {
    func millisecondsSinceEpoch() -> Int64 { 1_732_860_000_000 }
}
