import ChatCore
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL
import NIOWebSocket

/// Hummingbird child channel for chatd: plain HTTP goes to the Hummingbird responder (the
/// router); an accepted `…/join` upgrade gets the project's own WebSocket pipeline.
///
/// A join is admitted (room and user checked) before the 101 is sent. A refused upgrade is
/// answered here with the JSON error the router would give, and the connection closes: NIO's
/// upgrade handler has consumed the request head, so the request cannot go on to the router.
struct ChatServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum Negotiated: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// A join whose upgrade was refused: answered with its error, then closed.
        case refusedJoin(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, APIError)
        /// An accepted join: its session runs on the channel's event loop.
        case webSocket
        /// Refused at accept (a connection limit): answered by ``ConnectionRefusal``.
        case refusedConnection
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let service: ChatService
    let hub: RoomHub
    let compressors: FrameCompressors?
    let counters: TransportCounters
    let configuration: ChatServerConfiguration
    let access: AccessControl
    let limiter: ConnectionLimiter
    /// The joined sockets, for the admin API (and `chatd_connections`).
    var connections: LocalConnections?
    /// What every chat socket shares, for seed clients and for `chat.v2` (larger messages).
    let sockets: (seed: WebSocketProtocolHandler.Shared, v2: WebSocketProtocolHandler.Shared)

    init(
        responder: @escaping HTTPChannelHandler.Responder,
        service: ChatService,
        hub: RoomHub,
        compressors: FrameCompressors?,
        counters: TransportCounters,
        configuration: ChatServerConfiguration,
        access: AccessControl,
        limiter: ConnectionLimiter,
        logger: Logger
    ) {
        self.responder = Self.closingAfterUpgradeRequests(responder)
        self.service = service
        self.hub = hub
        self.compressors = compressors
        self.counters = counters
        self.configuration = configuration
        self.access = access
        self.limiter = limiter
        var v2Limits = configuration.webSocketLimits
        v2Limits.maximumMessageBytes = configuration.maximumEnvelopeBytes
        self.sockets = (
            .init(limits: configuration.webSocketLimits, compressors: compressors, counters: counters, logger: logger),
            .init(limits: v2Limits, compressors: compressors, counters: counters, logger: logger)
        )
    }

    /// A request with an `Upgrade` header that reaches the router (a later request on a
    /// keep-alive connection, where NIO no longer offers upgrades) is answered, then the
    /// connection is closed: NIO's HTTP parser stops parsing after such a request, so nothing
    /// more could be read from it.
    private static func closingAfterUpgradeRequests(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct CloseAfterUpgradeRequest: Error {}
        return { request, writer, channel in
            try await responder(request, writer, channel)
            if request.headers[.upgrade] != nil { throw CloseAfterUpgradeRequest() }
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let attribution = ClientAttribution(limiter: limiter, counters: counters, trustedProxies: configuration.abuseLimits.trustedProxies)
            if let refusal = attribution.admit(channel) {
                try channel.pipeline.syncOperations.addHandler(ConnectionRefusal(refusal))
                return Value(negotiated: channel.eventLoop.makeSucceededFuture(.refusedConnection), channel: channel)
            }
            // NIO keeps a receive buffer per connection for its whole life; for mostly idle chat
            // sockets keep a tiny one and read into fresh ones (docs/performance.md).
            try IdleReceiveBuffers.apply(to: channel)
            let admission = NIOLoopBoundBox(JoinAdmission.notAttempted, eventLoop: channel.eventLoop)
            let firstHead = NIOLoopBoundBox<HTTPRequestHead?>(nil, eventLoop: channel.eventLoop)
            let counters = counters
            let deadline = RequestDeadline(channel: channel, timeout: configuration.abuseLimits.requestDeadline) {
                counters.countRequestDeadline()
            }
            let loopDeadline = NIOLoopBound(deadline, eventLoop: channel.eventLoop)
            let upgrader = JoinUpgrader(
                service: service,
                access: access,
                deflate: compressors?.settings,
                origins: configuration.originPolicy,
                trustedProxies: configuration.abuseLimits.trustedProxies,
                counters: counters,
                admission: admission
            ) { channel, room, user, identity, deflate, options in
                loopDeadline.value.disarm()  // the 101 is on its way
                try self.installWebSocket(
                    on: channel, room: room, user: user, expiresAt: identity?.expiresAt, deflate: deflate, options: options, logger: logger
                )
                return .webSocket
            }
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: configuration.tls != nil))
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: configuration.httpIdleTimeout, logger: logger)
                        )
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        if case .refused(let error) = admission.value {
                            return .refusedJoin(http, error)
                        }
                        if let head = firstHead.value, head.headers.contains(name: "upgrade") {
                            // An upgrade to another protocol, ignored: its head and end were consumed, replay them.
                            let upgrader = try channel.pipeline.syncOperations.context(handlerType: NIOTypedHTTPServerUpgradeHandler<Negotiated>.self)
                            upgrader.fireChannelRead(NIOAny(HTTPServerRequestPart.head(head)))
                            upgrader.fireChannelRead(NIOAny(HTTPServerRequestPart.end(nil)))
                        }
                        return .http(http)
                    }
                }
            )
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrade)
            pipeline.enablePipelining = false  // NIOAsyncChannel handles one request at a time
            pipeline.enableErrorHandling = false  // the HTTP path answers parse errors itself
            pipeline.enableResponseHeaderValidation = false  // HTTPTypes validates
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<Negotiated>.self)
            try channel.pipeline.syncOperations.addHandler(FirstRequestGuard(head: firstHead, deadline: deadline, attribution: attribution), position: .before(upgradeHandler))
            if let tls = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
                try channel.pipeline.syncOperations.addHandler(TLSHandshakeLogger(logger: logger), position: .after(tls))
            }
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refusedJoin(let http, let error):
                try await Self.answer(http, with: error)
            case .webSocket, .refusedConnection:
                // The session lives on the channel's event loop; no task waits for it.
                break
            }
        } catch {
            logger.debug("connection ended before a request completed", metadata: ["error": "\(error)"])
        }
    }

    /// Answers a refused upgrade with its JSON error and closes: the request head is gone, so
    /// the connection cannot carry on as HTTP.
    private static func answer(_ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, with error: APIError) async throws {
        try await http.executeThenClose { _, outbound in
            let body = error.jsonBody
            var headers = error.responseHeaders
            headers[.contentLength] = String(body.readableBytes)
            headers[.connection] = "close"
            try await outbound.write(contentsOf: [
                .head(HTTPResponse(status: error.status, headerFields: headers)),
                .body(body),
                .end(nil),
            ])
        }
    }

    /// Builds the WebSocket pipeline behind an accepted upgrade and starts the join. Runs on the channel's loop.
    private func installWebSocket(
        on channel: any Channel, room: RoomID, user: UserName, expiresAt: Int64?, deflate: NegotiatedDeflate?, options: JoinOptions,
        logger: Logger
    ) throws {
        let connection = service.makeConnectionID()
        if deflate != nil { counters.countDeflateSession() }
        let member = RoomMember(
            connection: connection,
            room: room,
            user: user,
            holdLimit: configuration.maximumHeldMessagesPerJoin,
            outboundWindowBits: deflate?.serverMaxWindowBits,
            speaksV2: options.speaksV2
        )
        let session = ChatSession(service: service, hub: hub, member: member, options: options, eventLoop: channel.eventLoop, logger: logger)
        session.connections = connections
        let socket = WebSocketProtocolHandler(shared: options.speaksV2 ? sockets.v2 : sockets.seed, deflate: deflate, receiver: session)
        session.socket = socket
        if options.speaksV2 { socket.refusesOverRate() }
        socket.credentialExpiry = CredentialExpiry.deadline(expiresAt)
        // The only handler after the upgrade (behind TLS, when there is TLS): the member writes
        // through its context, so the fan-out's writes pass no other handler.
        do {
            try channel.pipeline.syncOperations.addHandler(socket)
        } catch {
            session.socket = nil  // the socket never started, so it will never end: break the cycle here
            throw error
        }
        if let connections {
            // Held until the socket ends (the session's `socketEnded`), when the entry (and with
            // it the socket) is dropped.
            connections.add(connection, user: user, room: room, socket: NIOLoopBound(socket, eventLoop: channel.eventLoop))
        }
        session.start()
    }
}
