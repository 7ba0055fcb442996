import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Opens one member's WebSocket (GET /v1/chatrooms/{id}/join?user=NAME) on a given event
/// loop, with NIO's typed HTTP/1 upgrade, and installs a `MemberHandler` after it.
struct WebSocketConnector: Sendable {
    let endpoint: ServerEndpoint
    /// Offer permessage-deflate as browsers do; compressed frames are then inflated (and counted).
    let offerDeflate: Bool

    struct Member: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<MemberHandler>
    }

    fileprivate enum UpgradeResult: Sendable {
        case websocket(Member)
        case notUpgraded
    }

    struct JoinRefused: Error, CustomStringConvertible {
        let path: String
        var description: String { "the server did not upgrade \(path) to a WebSocket" }
    }

    /// Joins `roomID` as `user`, with `token` as `access_token` when the server gave one. With `historyLastSeq`, the member times how long it takes,
    /// from before the TCP connect, until the message with that `seq` arrives (a join storm).
    /// With `probeFirstOnServer`, the member posts a join probe once joined and times its echo (``MemberHandler/JoinProbe``).
    func join(
        room: Int, roomID: Int, user: String, token: String? = nil, stats: NIOLoopBound<LoopStats>, historyLastSeq: UInt64? = nil,
        probeFirstOnServer: Bool? = nil
    ) async throws -> Member {
        let startedAt = NIODeadline.now().uptimeNanoseconds
        let loop = stats.eventLoop
        let shownPath = "/v1/chatrooms/\(roomID)/join?user=\(user)"  // the token stays out of error messages
        let path = shownPath + (token.map { "&access_token=\($0)" } ?? "")
        let hostHeader = "\(endpoint.host):\(endpoint.port)"
        let offerDeflate = offerDeflate
        let upgradeResult: EventLoopFuture<UpgradeResult> = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = FrameReadingUpgrader<UpgradeResult> { channel, response in
                        channel.eventLoop.makeCompletedFuture {
                            let agreed = response.headers[canonicalForm: "Sec-WebSocket-Extensions"].contains {
                                $0.lowercased().hasPrefix("permessage-deflate")
                            }
                            let handler = MemberHandler(
                                stats: stats.value, room: room, inflates: offerDeflate && agreed,
                                historyWatch: historyLastSeq.map { .init(startedAt: startedAt, lastSeq: $0) },
                                joinProbe: probeFirstOnServer.map { .init(startedAt: startedAt, firstOnServer: $0) })
                            try channel.pipeline.syncOperations.addHandler(handler)
                            return .websocket(Member(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop)))
                        }
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: hostHeader)
                    headers.add(name: "Content-Length", value: "0")
                    if offerDeflate {
                        headers.add(name: "Sec-WebSocket-Extensions", value: "permessage-deflate; client_max_window_bits")
                    }
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                        upgradeRequestHead: head,
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                channel.close(promise: nil)
                                return UpgradeResult.notUpgraded
                            }
                        }
                    )
                    // Frames the server sends right behind its 101 can arrive in the same read:
                    // NIO's default drops whatever follows the response head.
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                }
            }
        switch try await upgradeResult.get() {
        case .websocket(let member): return member
        case .notUpgraded: throw JoinRefused(path: shownPath)
        }
    }
}

/// NIO's WebSocket client upgrade (request key, `Sec-WebSocket-Accept` check) without NIO's
/// frame encoder and decoder: `MemberHandler` reads and writes frames itself
/// (``ServerFrameReader`` says why). NIO's upgrader validates; only the pipeline differs.
/// Shared by the seed members and the chat.v2 members of `chaos` (``ChaosSocket``).
struct FrameReadingUpgrader<UpgradeResult: Sendable>: NIOTypedHTTPClientProtocolUpgrader {
    private let validator = NIOTypedWebSocketClientUpgrader<UpgradeResult>(upgradePipelineHandler: { channel, _ in
        channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState)  // never called
    })
    private let pipeline: @Sendable (any Channel, HTTPResponseHead) -> EventLoopFuture<UpgradeResult>

    init(pipeline: @escaping @Sendable (any Channel, HTTPResponseHead) -> EventLoopFuture<UpgradeResult>) {
        self.pipeline = pipeline
    }

    var supportedProtocol: String { validator.supportedProtocol }
    var requiredUpgradeHeaders: [String] { validator.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        validator.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        validator.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
    }

    func upgrade(channel: any Channel, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<UpgradeResult> {
        pipeline(channel, upgradeResponse)
    }
}
