import ChatCore
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The outcome of a join's upgrade attempt, kept on the channel's loop.
enum JoinAdmission {
    case notAttempted
    /// The identity is nil in `--auth none`; its expiry closes the socket (4001).
    case admitted(RoomID, UserName, Identity?, NegotiatedDeflate?, JoinOptions)
    case refused(APIError)
}

/// The WebSocket upgrader (``WebSocketUpgrader``), wrapped so that every attempt is recorded with its verdict.
///
/// NIO's upgrade handler consumes the request head of an upgrade it does not make, so a
/// refused join cannot continue to the router; the channel answers it from this record instead
/// (``ChatServerChannel``), with the same JSON error the router would give.
struct JoinUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = ChatServerChannel.Negotiated

    let admission: NIOLoopBoundBox<JoinAdmission>
    let inner: WebSocketUpgrader<UpgradeResult>

    init(
        service: ChatService,
        access: AccessControl,
        deflate: PerMessageDeflateSettings?,
        origins: OriginPolicy,
        trustedProxies: Set<String>,
        counters: TransportCounters,
        admission: NIOLoopBoundBox<JoinAdmission>,
        install: @escaping @Sendable (any Channel, RoomID, UserName, Identity?, NegotiatedDeflate?, JoinOptions) throws -> UpgradeResult
    ) {
        self.admission = admission
        self.inner = WebSocketUpgrader(
            shouldUpgrade: { channel, head in
                let promise = channel.eventLoop.makePromise(of: JoinAdmission.self)
                let client = ClientAddress.of(head, on: channel, trustedProxies: trustedProxies)
                promise.completeWithTask {
                    await RequestID.$current.withValue(RequestID.make()) {
                        await Self.admit(head, client: client, service: service, access: access, deflate: deflate, origins: origins, counters: counters)
                    }
                }
                return promise.futureResult.map { verdict -> HTTPHeaders? in
                    admission.value = verdict
                    guard case .admitted(_, _, _, let negotiated, _) = verdict else { return nil }
                    var headers = HTTPHeaders()
                    if let negotiated { headers.add(name: "Sec-WebSocket-Extensions", value: negotiated.responseHeaderValue) }
                    if let subprotocol = JoinOptions.subprotocolAnswer(offered: Self.subprotocolHeaders(of: head)) {
                        headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol)
                    }
                    return headers
                }
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard case .admitted(let room, let user, let identity, let negotiated, let options) = admission.value else {
                        preconditionFailure("upgrade without admission")
                    }
                    return try install(channel, room, user, identity, negotiated, options)
                }
            }
        )
    }

    var supportedProtocol: String { inner.supportedProtocol }
    var requiredUpgradeHeaders: [String] { inner.requiredUpgradeHeaders }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        // Recorded before NIO checks the handshake headers, so a bad key or version is answered too.
        admission.value = .refused(
            APIError(.badRequest, "invalid WebSocket handshake: send Sec-WebSocket-Key and Sec-WebSocket-Version: 13")
        )
        return inner.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        inner.upgrade(channel: channel, upgradeRequest: upgradeRequest)
    }

    private static func admit(
        _ head: HTTPRequestHead, client: String, service: ChatService, access: AccessControl, deflate: PerMessageDeflateSettings?,
        origins: OriginPolicy, counters: TransportCounters
    ) async -> JoinAdmission {
        guard head.method == .GET, let join = JoinRequest(uri: head.uri) else {
            return .refused(APIError(.notFound, "WebSocket upgrades are offered only at GET /v1/chatrooms/{id}/join?user=NAME"))
        }
        let origin = head.headers.first(name: "Origin")
        guard origins.allows(origin: origin, host: head.headers.first(name: "Host")) else {
            counters.countOriginRefused()
            return .refused(APIError(.forbidden, "pages from origin '\(origin ?? "")' may not join this server's rooms"))
        }
        let negotiated = deflate.flatMap { settings in
            NegotiatedDeflate.negotiate(
                offers: WebSocketExtensionOffer.parse(headerValues: head.headers[canonicalForm: "Sec-WebSocket-Extensions"].map(String.init)),
                settings: settings
            )
        }
        let options: JoinOptions
        do {
            options = try JoinOptions(join, subprotocolHeaders: subprotocolHeaders(of: head))
        } catch {
            return .refused(error)
        }
        do {
            let (user, identity) = try await access.admitJoin(
                join, authorization: head.headers.first(name: "Authorization"), client: client, service: service
            )
            return .admitted(try join.room(), user, identity, negotiated, options)
        } catch {
            return .refused(APIError(error))
        }
    }

    private static func subprotocolHeaders(of head: HTTPRequestHead) -> [String] {
        head.headers[canonicalForm: "Sec-WebSocket-Protocol"].map(String.init)
    }
}
