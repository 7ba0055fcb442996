import ChatCore
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

    private func makeMember(_ number: UInt64) throws -> (RoomMember, EmbeddedChannel, IOCounter) {
        let channel = EmbeddedChannel(loop: loop)
        let counter = IOCounter()
        let member = RoomMember(connection: ConnectionID(server: ServerID(rawValue: "t"), number: number), room: room, user: UserName(trusted: "u"), holdLimit: 3)
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(member)
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        return (member, channel, counter)
    }

    private func written(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
        var buffers: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
        return buffers
    }

    @Test func aJoiningMemberGetsHistoryThenHeldMessagesNewerThanIt() throws {
        let hub = LoopRoomHub(eventLoop: loop, maximumQueuedBytes: 1 << 20)
        let (member, channel, _) = try makeMember(1)
        hub.add(member)
        hub.deliver(frame(3), seq: 3, room: room)
        hub.deliver(frame(4), seq: 4, room: room)
        loop.run()
        #expect(try written(channel).isEmpty, "held while history loads")

        hub.completeJoin(of: member, history: [message(2), message(3)], allocator: .init())
        hub.deliver(frame(4), seq: 4, room: room)  // a late duplicate
        hub.deliver(frame(5), seq: 5, room: room)
        loop.run()
        #expect(try written(channel) == [frame(2), frame(3), frame(4), frame(5)])
    }

    @Test func liveMembersGetEachFrameAndOneFlushPerTick() throws {
        let hub = LoopRoomHub(eventLoop: loop, maximumQueuedBytes: 1 << 20)
        var members: [(RoomMember, EmbeddedChannel, IOCounter)] = []
        for number in 1...3 {
            let entry = try makeMember(UInt64(number))
            hub.add(entry.0)
            hub.completeJoin(of: entry.0, history: [], allocator: .init())
            members.append(entry)
        }
        loop.run()
        let flushesBefore = members.map { $0.2.flushes }
        for seq in 1...5 { hub.deliver(frame(Int64(seq)), seq: Int64(seq), room: room) }
        loop.run()
        for (index, (_, channel, counter)) in members.enumerated() {
            #expect(try written(channel) == (1...5).map { frame(Int64($0)) })
            #expect(counter.flushes == flushesBefore[index] + 1, "five messages in one tick, one flush")
        }
    }

    @Test func removedMembersGetNothingAndOthersKeepTheirSlots() throws {
        let hub = LoopRoomHub(eventLoop: loop, maximumQueuedBytes: 1 << 20)
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
        hub.deliver(frame(1), seq: 1, room: room)
        loop.run()
        #expect(try written(first.1).isEmpty)
        #expect(try written(second.1) == [frame(1)])
        #expect(try written(third.1) == [frame(1)])
        hub.remove(third.0)
        hub.remove(second.0)
        #expect(hub.memberCount(in: room) == 0)
    }

    @Test func aFloodWhileJoiningClosesTheMemberWith1013() throws {
        let hub = LoopRoomHub(eventLoop: loop, maximumQueuedBytes: 1 << 20)
        let (member, _, _) = try makeMember(1)
        var closedWith: WebSocketErrorCode?
        member.onClose = { code, _ in closedWith = code }
        hub.add(member)
        for seq in 1...4 { hub.deliver(frame(Int64(seq)), seq: Int64(seq), room: room) }
        #expect(closedWith == WebSocketErrorCode(codeNumber: 1013))
    }

    @Test func noDataFrameFollowsACloseFrame() throws {
        let hub = LoopRoomHub(eventLoop: loop, maximumQueuedBytes: 1 << 20)
        let (member, channel, _) = try makeMember(1)
        hub.add(member)
        hub.completeJoin(of: member, history: [], allocator: .init())
        hub.deliver(frame(1), seq: 1, room: room)
        loop.run()
        #expect(try written(channel) == [frame(1)])
        member.close(.policyViolation, reason: "too slow")
        hub.deliver(frame(2), seq: 2, room: room)
        loop.run()
        #expect(try written(channel).isEmpty)
    }
}
