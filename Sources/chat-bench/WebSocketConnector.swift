import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Opens one member's WebSocket (GET /v1/chatrooms/{id}/join?user=NAME) on a given event
/// loop, with NIO's typed HTTP/1 upgrade, and installs a `MemberHandler` after it.
struct WebSocketConnector: Sendable {
    let host: String
    let port: Int

    struct Member: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<MemberHandler>
    }

    private enum UpgradeResult: Sendable {
        case websocket(Member)
        case notUpgraded
    }

    struct JoinRefused: Error, CustomStringConvertible {
        let path: String
        var description: String { "the server did not upgrade \(path) to a WebSocket" }
    }

    func join(room: Int, roomID: Int, user: String, stats: NIOLoopBound<LoopStats>) async throws -> Member {
        let loop = stats.eventLoop
        let path = "/v1/chatrooms/\(roomID)/join?user=\(user)"
        let hostHeader = "\(host):\(port)"
        let upgradeResult: EventLoopFuture<UpgradeResult> = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<UpgradeResult>(
                        maxFrameSize: 1 << 20,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let handler = MemberHandler(stats: stats.value, room: room)
                                try channel.pipeline.syncOperations.addHandler(handler)
                                return .websocket(Member(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop)))
                            }
                        }
                    )
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: hostHeader)
                    headers.add(name: "Content-Length", value: "0")
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
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration)
                    )
                }
            }
        switch try await upgradeResult.get() {
        case .websocket(let member): return member
        case .notUpgraded: throw JoinRefused(path: path)
        }
    }
}
