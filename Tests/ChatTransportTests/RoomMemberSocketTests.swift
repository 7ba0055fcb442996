import ChatCore
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChatTransport

/// A `RoomMember` writing through the real `WebSocketProtocolHandler`'s context, as chatd
/// wires them (``ChatSession`` is the receiver that connects the two): the handler's own frames
/// follow the room messages owed, and the fan-out's close reaches the handler.
@Suite struct RoomMemberSocketTests {
    /// The session's part of the wiring, alone.
    final class MemberReceiver: WebSocketReceiver {
        let member: RoomMember
        init(_ member: RoomMember) { self.member = member }
        func socketReceived(_ message: WebSocketProtocolHandler.Message) {}
        func socketReceivedOverRate(_ message: WebSocketProtocolHandler.Message) {}
        func socketSentCloseFrame() { member.stopWriting() }
        func socketEnded() {}
        func socketAttached(to context: ChannelHandlerContext) { member.attach(to: context) }
        func socketDetached() { member.detach() }
        func socketWillWrite() { member.writeOwedBeforeOwnWrite() }
        func socketWritabilityChanged(_ writable: Bool) { member.writabilityChanged(writable) }
    }

    let loop = EmbeddedEventLoop()
    let room = RoomID(1)
    let channel: EmbeddedChannel
    let member: RoomMember
    let hub: LoopRoomHub

    init() throws {
        channel = EmbeddedChannel(loop: loop)
        member = RoomMember(
            connection: ConnectionID(server: ServerID(rawValue: "t"), number: 1), room: room, user: UserName(trusted: "u"), holdLimit: 3)
        hub = LoopRoomHub(
            eventLoop: loop, slowConsumers: SlowConsumerPolicy(maximumQueuedBytes: 1 << 20, grace: .seconds(1)), counters: TransportCounters(),
            flushWindow: .milliseconds(10))
        let socket = WebSocketProtocolHandler(
            shared: .init(
                limits: WebSocketLimits(
                    maximumMessageBytes: 1 << 16, maximumPendingMessages: 4, closeTimeout: .seconds(5), pingInterval: nil, idleTimeout: .seconds(60),
                    maximumMessagesPerSecond: nil),
                compressors: nil, counters: TransportCounters(), logger: Logger(label: "test")),
            deflate: nil, receiver: MemberReceiver(member))
        try channel.pipeline.syncOperations.addHandler(socket)
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        hub.add(member)
        hub.completeJoin(of: member, history: [], allocator: .init())
        loop.advanceTime(by: .milliseconds(10))
    }

    private func message(_ seq: Int64) -> OutboundChatFrame {
        OutboundChatFrame(ChatMessage(room: room, user: UserName(trusted: "u"), text: "m\(seq)", timestamp: 0, seq: seq), compressors: nil, allocator: .init())
    }

    /// What reached the socket, frame by frame: a text's payload, or the opcode's name.
    private func sent() throws -> [String] {
        var frames: [String] = []
        while var bytes = try channel.readOutbound(as: ByteBuffer.self) {
            while let frame = try WebSocketFrameWire.frame(from: &bytes, maximumFrameBytes: .max) {
                frames.append(frame.opcode == .text ? String(buffer: frame.data) : "\(frame.opcode)")
            }
        }
        return frames
    }

    /// The fan-out asks a flushed member's channel for its backlog only when the member is
    /// backed up, which it learns from the channel's writability events through the handler.
    @Test func theMemberFollowsItsChannelsWritabilityEvents() throws {
        #expect(!member.isBackedUp)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(member.isBackedUp, "over the high-water mark, as the event says")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(!member.isBackedUp, "back under the low-water mark")
    }

    @Test func aMemberAttachedToAnUnwritableChannelStartsBackedUp() throws {
        let other = EmbeddedChannel(loop: loop)
        other.isWritable = false
        let late = RoomMember(
            connection: ConnectionID(server: ServerID(rawValue: "t"), number: 2), room: room, user: UserName(trusted: "v"), holdLimit: 3)
        try other.pipeline.syncOperations.addHandler(StandaloneMemberSocket(late))
        #expect(late.isBackedUp)
        other.isWritable = true
        other.pipeline.fireChannelWritabilityChanged()
        #expect(!late.isBackedUp, "the standalone socket passes the event on as well")
    }

    @Test func aPongInsideTheFlushWindowGoesOutAfterTheMessagesOwedBeforeIt() throws {
        hub.deliver(message(1), room: room)
        hub.deliver(message(2), room: room)
        #expect(try sent().isEmpty, "owed until the window ends")
        try channel.writeInbound(WebSocketFrameWireTests.wire([clientFrame(.ping, [7])]))
        hub.deliver(message(3), room: room)
        loop.advanceTime(by: .milliseconds(10))
        let frames = try sent()
        #expect(frames.count == 4)
        #expect(frames[0].contains("m1") && frames[1].contains("m2"))
        #expect(frames[2] == "\(WebSocketOpcode.pong)")
        #expect(frames[3].contains("m3"))
    }

    @Test func theFanOutsCloseReachesTheSocketHandlerAndNothingFollowsTheCloseFrame() throws {
        hub.deliver(message(1), room: room)
        member.close(CloseCode.tryAgainLater, reason: "slow")
        hub.deliver(message(2), room: room)
        loop.advanceTime(by: .milliseconds(10))
        let frames = try sent()
        #expect(frames.count == 2)
        #expect(frames.first?.contains("m1") == true, "what was owed before the close goes first")
        #expect(frames.last == "\(WebSocketOpcode.connectionClose)")
    }
}
