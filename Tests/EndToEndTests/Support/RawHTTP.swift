import NIOCore
import NIOPosix

/// Sends bytes exactly as written and returns everything the server answers until it closes:
/// for requests an HTTP client library would rewrite (connection-level headers, upgrades).
enum RawHTTP {
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let request: String
        let done: EventLoopPromise<String>
        var response = ""

        init(request: String, done: EventLoopPromise<String>) {
            self.request = request
            self.done = done
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(string: request)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            response += String(buffer: unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(response)
        }
    }

    static func exchange(port: Int, _ request: String) async throws -> String {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let done = loop.makePromise(of: String.self)
        let timeout = loop.scheduleTask(in: .seconds(10)) { done.fail(TestFailure("the server never closed the connection")) }
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(request: request, done: done))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        defer { channel.close(promise: nil) }
        let response = try await done.futureResult.get()
        timeout.cancel()
        return response
    }
}
