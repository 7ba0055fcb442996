import NIOCore
import NIOWebSocket

/// The channel handler a ``RoomMember`` writes through (``RoomMember/attach(to:)``): the one
/// next to the socket. It calls ``RoomMember/writeOwedBeforeOwnWrite()`` before each frame of its
/// own and closes the socket when the fan-out says so. In chatd that is the
/// ``WebSocketProtocolHandler``.
package protocol RoomMemberSocket: ChannelHandler {
    /// The fan-out closes the member (1013 for a slow consumer, …).
    func closeForMember(_ code: WebSocketErrorCode, reason: String)
}

/// A socket for a member alone, for the fan-out's tests and `fanout-cost`: attaches the member,
/// passes writes on after what the member is owed, tells it of writability changes, and reports
/// a close to `onClose`.
package final class StandaloneMemberSocket: ChannelDuplexHandler, RoomMemberSocket {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    private let member: RoomMember
    package var onClose: ((WebSocketErrorCode, String) -> Void)?

    package init(_ member: RoomMember) {
        self.member = member
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        member.attach(to: context)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        member.detach()
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        member.writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        member.writeOwedBeforeOwnWrite()
        context.write(data, promise: promise)
    }

    package func closeForMember(_ code: WebSocketErrorCode, reason: String) {
        onClose?(code, reason)
    }
}
