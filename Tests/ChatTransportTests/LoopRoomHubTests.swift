import ChatCore
import ChatTestServices
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChatTransport

/// The per-loop fan-out on embedded channels: gap-free join, duplicate dropping, one flush per tick.
@Suite struct LoopRoomHubTests {
    let loop = EmbeddedEventLoop()
    let room = RoomID(1)

    private func message(_ seq: Int64) -> ChatMessage {
        ChatMessage(room: room, user: UserName(trusted: "u"), text: "m\(seq)", timestamp: 0, seq: seq)
    }

    private func frame(_ seq: Int64) -> ByteBuffer {
        ChatFrameEncoder.textFrame(for: message(seq), allocator: .init())
    }

    private func outbound(_ seq: Int64) -> OutboundChatFrame {
        OutboundChatFrame(message(seq), compressors: nil, allocator: .init())
    }

    private func makeHub(flushWindow: TimeAmount = .zero) -> LoopRoomHub {
        LoopRoomHub(
            eventLoop: loop, slowConsumers: SlowConsumerPolicy(maximumQueuedBytes: 1 << 20, grace: .seconds(1)), counters: TransportCounters(),
            flushWindow: flushWindow)
    }

    private func makeMember(_ number: UInt64, windowBits: UInt8? = nil, v2: Bool = false) throws -> (RoomMember, EmbeddedChannel, IOCounter) {
        let channel = EmbeddedChannel(loop: loop)
        let counter = IOCounter()
        let member = RoomMember(
            connection: ConnectionID(server: ServerID(rawValue: "t"), number: number),
            room: room,
            user: UserName(trusted: "u"),
            holdLimit: 3,
            outboundWindowBits: windowBits,
            speaksV2: v2
        )
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(StandaloneMemberSocket(member))
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        return (member, channel, counter)
    }

    private func written(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
        var buffers: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
        return buffers
    }

    /// Everything written to `channel` so far, as one run of bytes.
    private func bytes(_ channel: EmbeddedChannel) throws -> [UInt8] {
        try written(channel).flatMap { Array($0.readableBytesView) }
    }

    private func joined(_ frames: [ByteBuffer]) -> [UInt8] {
        frames.flatMap { Array($0.readableBytesView) }
    }

    @Test func aJoiningMemberGetsHistoryThenHeldMessagesNewerThanIt() throws {
        let hub = makeHub()
        let (member, channel, _) = try makeMember(1)
        hub.add(member)
        hub.deliver(outbound(3), room: room)
        hub.deliver(outbound(4), room: room)
        loop.run()
        #expect(try written(channel).isEmpty, "held while history loads")

        hub.completeJoin(of: member, history: [message(2), message(3)], allocator: .init())
        hub.deliver(outbound(4), room: room)  // a late duplicate
        hub.deliver(outbound(5), room: room)
        loop.run()
        #expect(try written(channel) == [frame(2), frame(3), frame(4), frame(5)])
    }

    @Test func liveMembersGetEachFrameAndOneFlushPerTick() throws {
        let hub = makeHub()
        var members: [(RoomMember, EmbeddedChannel, IOCounter)] = []
        for number in 1...3 {
            let entry = try makeMember(UInt64(number))
            hub.add(entry.0)
            hub.completeJoin(of: entry.0, history: [], allocator: .init())
            members.append(entry)
        }
        loop.run()
        let flushesBefore = members.map { $0.2.flushes }
        for seq in 1...5 { hub.deliver(outbound(Int64(seq)), room: room) }
        loop.run()
        for (index, (_, channel, counter)) in members.enumerated() {
            let writes = try written(channel)
            #expect(joined(writes) == joined((1...5).map { frame(Int64($0)) }))
            #expect(writes.count == 1, "five messages in one tick, one write")
            #expect(counter.flushes == flushesBefore[index] + 1, "five messages in one tick, one flush")
        }
    }

    /// The window's bytes are joined once per room: every member is written the same storage.
    @Test func aWindowIsJoinedOnceAndAMemberThatWentLiveInsideItGetsItsPart() throws {
        let hub = makeHub()
        let (live, liveChannel, _) = try makeMember(1)
        hub.add(live)
        hub.completeJoin(of: live, history: [], allocator: .init())
        let (other, otherChannel, _) = try makeMember(2)
        hub.add(other)
        hub.completeJoin(of: other, history: [], allocator: .init())
        loop.run()
        let (joining, joiningChannel, _) = try makeMember(3)
        hub.add(joining)
        hub.deliver(outbound(1), room: room)  // held for the joining member
        hub.completeJoin(of: joining, history: [], through: MessagePosition(epoch: .legacy, seq: 0), allocator: .init())
        hub.deliver(outbound(2), room: room)
        hub.deliver(outbound(3), room: room)
        loop.run()
        let (liveWrites, otherWrites) = (try written(liveChannel), try written(otherChannel))
        #expect(liveWrites.count == 1 && otherWrites.count == 1)
        #expect(joined(liveWrites) == joined([frame(1), frame(2), frame(3)]))
        func storage(_ buffer: ByteBuffer) -> UnsafeRawPointer? { buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) } }
        #expect(storage(liveWrites[0]) == storage(otherWrites[0]), "one joined buffer for the room")
        let joiningWrites = try written(joiningChannel)
        #expect(joined(joiningWrites) == joined([frame(1), frame(2), frame(3)]), "1 held and played, then its part of the window")
        #expect(joiningWrites.count == 2)
        let part = try #require(joiningWrites.last)
        #expect(storage(part) == storage(liveWrites[0]).map { $0 + frame(1).readableBytes }, "a slice of the same bytes, not a copy")
    }

    @Test func aWindowJoinedEarlyIsJoinedAgainOnceAMessageFollows() {
        let window = RoomWindow()
        _ = window.append(outbound(1))
        #expect(joined([window.bytes(for: .seedPlain, from: 0, count: 1)]) == joined([frame(1)]))
        _ = window.append(outbound(2))
        _ = window.append(outbound(3))
        #expect(joined([window.bytes(for: .seedPlain, from: 0, count: 3)]) == joined([frame(1), frame(2), frame(3)]))
        #expect(joined([window.bytes(for: .seedPlain, from: 1, count: 2)]) == joined([frame(2), frame(3)]))
    }

    /// A write from the handlers behind the member (an acknowledgement, the close frame) goes
    /// out after the room messages delivered before it, never ahead of them.
    @Test func aWriteFromBehindTheMemberGoesOutAfterWhatItIsOwed() throws {
        let hub = makeHub()
        let (member, channel, _) = try makeMember(1)
        hub.add(member)
        hub.completeJoin(of: member, history: [], allocator: .init())
        loop.run()
        hub.deliver(outbound(1), room: room)
        hub.deliver(outbound(2), room: room)
        var acknowledgement = ByteBuffer()
        acknowledgement.writeString("ack")
        channel.write(acknowledgement, promise: nil)
        hub.deliver(outbound(3), room: room)
        loop.run()
        #expect(try bytes(channel) == joined([frame(1), frame(2), acknowledgement, frame(3)]))
    }

    @Test func aFlushWindowGathersTheMessagesOfThatWindowIntoOneFlush() throws {
        let hub = makeHub(flushWindow: .milliseconds(5))
        let (member, channel, counter) = try makeMember(1)
        hub.add(member)
        hub.completeJoin(of: member, history: [], allocator: .init())
        loop.advanceTime(by: .milliseconds(5))
        let flushesBefore = counter.flushes

        hub.deliver(outbound(1), room: room)
        loop.run()
        hub.deliver(outbound(2), room: room)  // a later tick, inside the window
        loop.advanceTime(by: .milliseconds(4))
        #expect(counter.flushes == flushesBefore, "nothing is flushed before the window ends")
        hub.deliver(outbound(3), room: room)
        loop.advanceTime(by: .milliseconds(1))
        #expect(counter.flushes == flushesBefore + 1, "one flush for the three messages of the window")
        #expect(try bytes(channel) == joined([frame(1), frame(2), frame(3)]))

        hub.deliver(outbound(4), room: room)
        loop.advanceTime(by: .milliseconds(5))
        #expect(counter.flushes == flushesBefore + 2, "the next message opens a new window")
    }

    @Test func removedMembersGetNothingAndOthersKeepTheirSlots() throws {
        let hub = makeHub()
        let first = try makeMember(1)
        let second = try makeMember(2)
        let third = try makeMember(3)
        for member in [first.0, second.0, third.0] {
            hub.add(member)
            hub.completeJoin(of: member, history: [], allocator: .init())
        }
        hub.remove(first.0)
        hub.remove(first.0)  // twice is harmless
        #expect(hub.memberCount(in: room) == 2)
        hub.deliver(outbound(1), room: room)
        loop.run()
        #expect(try written(first.1).isEmpty)
        #expect(try written(second.1) == [frame(1)])
        #expect(try written(third.1) == [frame(1)])
        hub.remove(third.0)
        hub.remove(second.0)
        #expect(hub.memberCount(in: room) == 0)
    }

    @Test func aFloodWhileJoiningClosesTheMemberWith1013() throws {
        let hub = makeHub()
        let (member, channel, _) = try makeMember(1)
        var closedWith: WebSocketErrorCode?
        try channel.pipeline.syncOperations.handler(type: StandaloneMemberSocket.self).onClose = { code, _ in closedWith = code }
        hub.add(member)
        for seq in 1...4 { hub.deliver(outbound(Int64(seq)), room: room) }
        #expect(closedWith == WebSocketErrorCode(codeNumber: 1013))
    }

    @Test func noDataFrameFollowsACloseFrame() throws {
        let hub = makeHub()
        let (member, channel, _) = try makeMember(1)
        hub.add(member)
        hub.completeJoin(of: member, history: [], allocator: .init())
        hub.deliver(outbound(1), room: room)
        loop.run()
        #expect(try written(channel) == [frame(1)])
        member.close(.policyViolation, reason: "too slow")
        hub.deliver(outbound(2), room: room)
        loop.run()
        #expect(try written(channel).isEmpty)
    }

    @Test func eachMessageIsCompressedOncePerWindowSizeAndPlainMembersGetItPlain() throws {
        let hub = makeHub()
        let members = try [makeMember(1, windowBits: 15), makeMember(2), makeMember(3, windowBits: 15), makeMember(4, windowBits: 10)]
        for (member, _, _) in members {
            hub.add(member)
            hub.completeJoin(of: member, history: [], allocator: .init())
        }
        let metrics = MeasuredMetrics()
        let compressors = FrameCompressors(settings: PerMessageDeflateSettings(minimumCompressedPayloadBytes: 32), metrics: metrics.factory)
        let long = ChatMessage(room: room, user: UserName(trusted: "u"), text: String(repeating: "hello hello ", count: 20), timestamp: 0, seq: 1)
        hub.deliver(OutboundChatFrame(long, compressors: compressors, allocator: .init()), room: room)
        loop.run()
        let frames = try members.map { try written($0.1) }
        #expect(frames.map(\.count) == [1, 1, 1, 1])
        let plain = ChatFrameEncoder.textFrame(for: long, allocator: .init())
        #expect(frames[1] == [plain])
        #expect(frames[0] == frames[2], "one compressed frame shared by both window-15 members")
        #expect(frames[0][0].getInteger(at: frames[0][0].readerIndex, as: UInt8.self) == 0xC1)
        #expect(frames[0][0].readableBytes < plain.readableBytes)
        #expect(metrics.int("chatd_deflate_compressions_total") == 2, "once for window 15, once for window 10, not per member")
        let inflater = try MessageInflater(windowBits: 10, keepsContext: false)
        let json = try inflater.inflate(ChatFrameEncoder.payload(ofFrame: frames[3][0]), maximumBytes: 1 << 16, allocator: .init())
        #expect(json == ChatFrameEncoder.payload(ofFrame: plain))
    }

    @Test func v2MembersGetEnvelopesBuiltOnceAndSeedMembersTheSeedFrame() throws {
        let hub = makeHub()
        let members = try [makeMember(1, v2: true), makeMember(2), makeMember(3, v2: true)]
        for (member, _, _) in members {
            hub.add(member)
        }
        hub.deliver(outbound(2), room: room)  // held while history loads
        for (member, _, _) in members {
            hub.completeJoin(of: member, history: [message(1)], allocator: .init())
        }
        hub.deliver(outbound(3), room: room)
        loop.run()
        let frames = try members.map { try written($0.1) }
        #expect(frames[1] == [frame(1), frame(2), frame(3)], "the seed member's frames are the seed's")
        #expect(frames[0] == frames[2])
        #expect(frames[0] == [1, 2, 3].map { v2MessageFrame(message($0)) })
        func storage(_ buffer: ByteBuffer) -> UnsafeRawPointer? { buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) } }
        #expect(storage(frames[0][2]) == storage(frames[2][2]), "one v2 frame of a live message for every v2 member")
    }

    @Test func presenceFramesGoToLiveV2MembersOnly() throws {
        let hub = makeHub()
        let v2 = try makeMember(1, v2: true)
        let seed = try makeMember(2)
        let joining = try makeMember(3, v2: true)
        for member in [v2.0, seed.0, joining.0] { hub.add(member) }
        for member in [v2.0, seed.0] { hub.completeJoin(of: member, history: [], allocator: .init()) }
        loop.run()
        let presence = ServerEnvelope.presenceFrame(PresenceEvent(room: room, user: UserName(trusted: "Bob"), kind: .join), allocator: .init())
        hub.deliverPresence(presence, room: room)
        hub.deliverPresence(presence, room: RoomID(99))
        loop.run()
        #expect(try written(v2.1) == [presence])
        #expect(try written(seed.1).isEmpty)
        #expect(try written(joining.1).isEmpty)
    }

    @Test func aResumeNoticeComesBetweenTheReplayAndTheHeldMessages() throws {
        let hub = makeHub()
        let (member, channel, _) = try makeMember(1, v2: true)
        hub.add(member)
        hub.deliver(outbound(5), room: room)
        hub.deliver(outbound(6), room: room)
        let notice = ServerEnvelope.textFrame(ServerEnvelope.resumed(recovered: true, from: 5, to: 5), allocator: .init())
        // Nothing missed but 5; the replay holds 5, then the notice, then 6 (held).
        hub.completeJoin(of: member, history: [message(5)], notice: notice, allocator: .init())
        loop.run()
        let v2 = { (seq: Int64) in v2MessageFrame(self.message(seq)) }
        #expect(try written(channel) == [v2(5), notice, v2(6)])

        let (other, otherChannel, _) = try makeMember(2, v2: true)
        hub.add(other)
        hub.deliver(outbound(7), room: room)
        hub.completeJoin(of: other, history: [], through: MessagePosition(epoch: .legacy, seq: 7), notice: notice, allocator: .init())
        hub.deliver(outbound(8), room: room)
        loop.run()
        #expect(try written(otherChannel) == [notice, v2(8)], "through 7: the held 7 is not played again")
    }
}
