import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// One TCP connection to Redis. Commands may be sent from any thread and any number at once:
/// they are written in call order and their replies come back in that order (pipelining).
///
/// A connection does not heal; ``RedisClient`` replaces it when it closes.
final class RedisConnection: Sendable {
    let channel: any Channel
    private let commandTimeout: TimeAmount

    private init(channel: any Channel, commandTimeout: TimeAmount) {
        self.channel = channel
        self.commandTimeout = commandTimeout
    }

    /// Opens a connection, over TLS when `tls` is given (the certificate checked against `host`).
    /// `onPush` receives pub/sub messages (subscriber connections only); it runs on the
    /// connection's event loop, in the order Redis sent them.
    static func connect(
        host: String,
        port: Int,
        tls: NIOSSLContext? = nil,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount,
        commandTimeout: TimeAmount,
        onPush: (@Sendable (RESPValue) -> Void)? = nil
    ) async throws -> RedisConnection {
        let handshake = Mutex<EventLoopFuture<Void>?>(nil)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try NIOSSLClientHandler(context: tls, serverHostname: BackendTLS.serverName(for: host))
                        try channel.pipeline.syncOperations.addHandler(handler)
                        let waiter = TLSHandshakeWaiter(promise: channel.eventLoop.makePromise())
                        handshake.withLock { $0 = waiter.promise.futureResult }
                        try channel.pipeline.syncOperations.addHandler(waiter)
                    }
                    try channel.pipeline.syncOperations.addHandler(RedisProtocolHandler(onPush: onPush))
                }
            }
            .connect(host: host, port: port)
            .get()
        // A connection is handed out only once its TLS handshake is done, so that a refused
        // certificate is reported as such, not as a write on a channel the refusal closed.
        if let handshake = handshake.withLock({ $0 }) {
            do {
                try await handshake.get()
            } catch {
                channel.close(promise: nil)
                throw RedisError("TLS handshake with Redis at \(host):\(port) failed: \(error)")
            }
        }
        return RedisConnection(channel: channel, commandTimeout: commandTimeout)
    }

    var isActive: Bool { channel.isActive }

    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Sends a command. A reply that takes longer than the command timeout closes the
    /// connection: the replies behind it could no longer be matched, and a fresh connection is
    /// the only safe way on.
    func send(_ arguments: [String]) -> EventLoopFuture<RESPValue> {
        let reply = channel.eventLoop.makePromise(of: RESPValue.self)
        let channel = self.channel
        let timeout = channel.eventLoop.scheduleTask(in: commandTimeout) {
            reply.fail(RedisError("Redis did not answer \(arguments.first ?? "") in time"))
            channel.close(promise: nil)
        }
        reply.futureResult.whenComplete { _ in timeout.cancel() }
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            reply.fail(RedisError("could not send \(arguments.first ?? "") to Redis: \(error)", isReply: false, wasNotSent: true))
        }
        channel.writeAndFlush(RedisRequest(arguments: arguments, reply: reply), promise: written)
        return reply.futureResult
    }

    /// Sends a command whose answer is not matched to it (SUNSUBSCRIBE: it comes as a push).
    func sendWithoutReply(_ arguments: [String]) {
        channel.writeAndFlush(RedisRequest(arguments: arguments, reply: nil), promise: nil)
    }

    /// Sends a command and returns its reply, throwing Redis's error replies as ``RedisError``.
    @discardableResult
    func command(_ arguments: [String]) async throws -> RESPValue {
        try await send(arguments).get().orThrow()
    }

    func close() async {
        try? await channel.close()
    }
}

/// Completes its promise when the TLS handshake ends: with success, or with the handshake's
/// error (or the connection's end) when it fails. Then it stays out of the way.
private final class TLSHandshakeWaiter: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            promise.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)  // ignored when the handshake already completed
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(RedisError("connection closed during the TLS handshake"))
        context.fireChannelInactive()
    }
}
