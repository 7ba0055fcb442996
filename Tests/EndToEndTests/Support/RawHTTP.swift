import NIOCore
import NIOPosix

/// A client that sends bytes exactly as written, for what an HTTP client library would rewrite
/// (connection-level headers, upgrades) or never do (stop reading).
enum RawHTTP {
    private final class Connection: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let request: String
        let stopReadingAfterHead: Bool
        let head: EventLoopPromise<String>
        let closed: EventLoopPromise<String>
        var response = ""

        init(request: String, stopReadingAfterHead: Bool, head: EventLoopPromise<String>, closed: EventLoopPromise<String>) {
            self.request = request
            self.stopReadingAfterHead = stopReadingAfterHead
            self.head = head
            self.closed = closed
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(string: request)), promise: nil)
        }

        // A promise completed twice keeps its first result (NIO ignores later ones), which is what both want.
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            response += String(buffer: unwrapInboundIn(data))
            if response.contains("\r\n\r\n") {
                head.succeed(response)
                if stopReadingAfterHead { context.channel.setOption(.autoRead, value: false).whenComplete { _ in } }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            head.fail(TestFailure("closed before a response head: \(response.prefix(60))"))
            closed.succeed(response)
        }
    }

    private static func connect(port: Int, request: String, stopReadingAfterHead: Bool, receiveBuffer: Int? = nil, from source: String? = nil)
        async throws -> (channel: any Channel, head: EventLoopFuture<String>, closed: EventLoopFuture<String>)
    {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let head = loop.makePromise(of: String.self)
        let closed = loop.makePromise(of: String.self)
        // Generous: the whole suite shares two cores with the chaos drill's processes, and this
        // bound only tells a server that never answers or closes from one that is slow.
        let timeout = loop.scheduleTask(in: .seconds(30)) {
            head.fail(TestFailure("no response head within 30 seconds"))
            closed.fail(TestFailure("the server never closed the connection within 30 seconds"))
        }
        closed.futureResult.whenComplete { _ in timeout.cancel() }
        var bootstrap = ClientBootstrap(group: loop)
        if let receiveBuffer { bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: .init(receiveBuffer)) }
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Connection(request: request, stopReadingAfterHead: stopReadingAfterHead, head: head, closed: closed)
                    )
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return (channel, head.futureResult, closed.futureResult)
    }

    /// Sends `request` (from the local address `source`, e.g. 127.0.0.2) and returns everything
    /// the server answers until it closes.
    static func exchange(port: Int, _ request: String, from source: String? = nil) async throws -> String {
        let connection = try await connect(port: port, request: request, stopReadingAfterHead: false, from: source)
        defer { connection.channel.close(promise: nil) }
        return try await connection.closed.get()
    }

    /// Sends `request` and returns the response head (and what came with it), leaving the
    /// connection open until `body` returns.
    static func head<T>(port: Int, _ request: String, from source: String? = nil, _ body: (String) async throws -> T) async throws -> T {
        let connection = try await connect(port: port, request: request, stopReadingAfterHead: false, from: source)
        defer { connection.channel.close(promise: nil) }
        return try await body(try await connection.head.get())
    }

    /// Sends `request` and returns the response head with the still open connection.
    static func open(port: Int, _ request: String, from source: String? = nil) async throws -> (channel: any Channel, head: String) {
        let connection = try await connect(port: port, request: request, stopReadingAfterHead: false, from: source)
        do {
            return (connection.channel, try await connection.head.get())
        } catch {
            connection.channel.close(promise: nil)
            throw error
        }
    }

    /// An upgrade request for `path`, with `extraHeaders` (each a full header line).
    static func upgradeRequest(_ path: String, extraHeaders: [String] = []) -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + extraHeaders.map { $0 + "\r\n" }.joined() + "\r\n"
    }

    /// The response head to a WebSocket upgrade of `path` with `headers` added; the connection is then dropped.
    static func upgradeHead(port: Int, path: String, headers: [String] = []) async throws -> String {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for header in headers { request += header + "\r\n" }
        let connection = try await connect(port: port, request: request + "\r\n", stopReadingAfterHead: true)
        defer { connection.channel.close(promise: nil) }
        let head = try await connection.head.get()
        return String(head[..<(head.range(of: "\r\n\r\n")?.lowerBound ?? head.endIndex)])
    }

    /// Joins over WebSocket, then never reads again, with a tiny receive buffer: the slowest
    /// possible consumer. Returns the stalled channel.
    static func stalledJoin(port: Int, path: String) async throws -> any Channel {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        let connection = try await connect(port: port, request: request, stopReadingAfterHead: true, receiveBuffer: 4_096)
        let head = try await connection.head.get()
        guard head.hasPrefix("HTTP/1.1 101") else { throw TestFailure("upgrade refused: \(head.prefix(40))") }
        return connection.channel
    }
}
