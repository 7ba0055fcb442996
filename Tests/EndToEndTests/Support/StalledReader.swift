import NIOCore
import NIOPosix

/// A WebSocket client that completes the handshake and then never reads again, with a tiny
/// receive buffer: the slowest possible consumer.
enum StalledReader {
    private final class Handshake: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let request: String
        let upgraded: EventLoopPromise<Void>
        var response = ""

        init(request: String, upgraded: EventLoopPromise<Void>) {
            self.request = request
            self.upgraded = upgraded
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(string: request)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            response += String(buffer: unwrapInboundIn(data))
            if response.contains("\r\n\r\n") {
                // From here on nothing is read: the kernel buffers fill, then the server's queue.
                context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
                if response.hasPrefix("HTTP/1.1 101") {
                    upgraded.succeed()
                } else {
                    upgraded.fail(TestFailure("upgrade refused: \(response.prefix(40))"))
                }
            }
        }
    }

    /// Joins `room` as `user` on 127.0.0.1:`port` and returns the stalled channel.
    static func join(port: Int, path: String) async throws -> any Channel {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let upgraded = loop.makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.so_rcvbuf), value: 4_096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handshake(request: request, upgraded: upgraded))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        try await upgraded.futureResult.get()
        return channel
    }
}
