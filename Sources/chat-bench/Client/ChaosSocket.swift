import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// One WebSocket of a ``ChaosMember``: joins asking for `chat.v2` (`Sec-WebSocket-Protocol`),
/// hands every text frame to the member, answers pings and the close handshake. The member
/// outlives its sockets: a drop is seen on the channel's close future, the next socket is a
/// new one. Lives on the member's event loop.
final class ChaosSocket: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let subprotocol = "chat.v2"

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    private let member: ChaosMember
    private var reader = ServerFrameReader(maximumPayload: 1 << 20)
    private var fragments: ByteBuffer?
    private var closing = false

    private init(member: ChaosMember) { self.member = member }

    /// Opens `path` on `endpoint` from `member`'s loop; the channel once upgraded to chat.v2.
    static func open(endpoint: ServerEndpoint, path: String, member: NIOLoopBound<ChaosMember>) async throws -> any Channel {
        enum Upgrade: Sendable {
            case upgraded(any Channel)
            case refused(String)
        }
        let hostHeader = "\(endpoint.host):\(endpoint.port)"
        let shownPath = path.split(separator: "access_token=").first.map(String.init) ?? path  // no token in errors
        let upgrade: EventLoopFuture<Upgrade> = try await ClientBootstrap(group: member.eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = FrameReadingUpgrader<Upgrade> { channel, response in
                        channel.eventLoop.makeCompletedFuture {
                            let agreed = response.headers["Sec-WebSocket-Protocol"].contains { $0.trimmingCharacters(in: .whitespaces) == subprotocol }
                            guard agreed else {
                                channel.close(promise: nil)
                                return .refused("\(shownPath): the server did not agree to \(subprotocol)")
                            }
                            try channel.pipeline.syncOperations.addHandler(ChaosSocket(member: member.value))
                            return .upgraded(channel)
                        }
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: hostHeader)
                    headers.add(name: "Content-Length", value: "0")
                    headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                        upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers),
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                channel.close(promise: nil)
                                return Upgrade.refused("\(shownPath): not upgraded")
                            }
                        }
                    )
                    // The history follows the 101 at once, often in the same read.
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                }
            }
        switch try await upgrade.get() {
        case .upgraded(let channel): return channel
        case .refused(let reason): throw Refused(description: reason)
        }
    }

    /// Writes one text frame (masked, as every client frame is).
    static func sendText(_ text: String, on channel: any Channel) {
        let payload = channel.allocator.buffer(string: text)
        channel.writeAndFlush(ServerFrameReader.clientFrame(opcode: ServerFrameReader.text, payload: payload, allocator: channel.allocator), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.read(unwrapInboundIn(data)) { frame in self.handle(frame, context: context) }
        } catch {
            member.unparsedFrame()
            context.close(promise: nil)
        }
    }

    private func handle(_ frame: ServerFrameReader.Frame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case ServerFrameReader.text where frame.fin:
            member.received(String(buffer: frame.payload))
        case ServerFrameReader.text:
            fragments = frame.payload
        case ServerFrameReader.continuation:
            guard var assembled = fragments else { return member.unparsedFrame() }
            var more = frame.payload
            assembled.writeBuffer(&more)
            fragments = frame.fin ? nil : assembled
            if frame.fin { member.received(String(buffer: assembled)) }
        case ServerFrameReader.ping:
            context.writeAndFlush(wrapOutboundOut(ServerFrameReader.clientFrame(opcode: ServerFrameReader.pong, payload: frame.payload, allocator: context.channel.allocator)), promise: nil)
        case ServerFrameReader.close:
            if !closing {
                closing = true
                var reply = context.channel.allocator.buffer(capacity: 2)
                reply.write(webSocketErrorCode: .normalClosure)
                context.write(wrapOutboundOut(ServerFrameReader.clientFrame(opcode: ServerFrameReader.close, payload: reply, allocator: context.channel.allocator)), promise: nil)
            }
            context.flush()
            context.close(promise: nil)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Starts the close handshake and closes after `timeout` if the server does not answer.
    static func close(_ channel: any Channel, timeout: TimeAmount) {
        var payload = channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: .normalClosure)
        channel.writeAndFlush(ServerFrameReader.clientFrame(opcode: ServerFrameReader.close, payload: payload, allocator: channel.allocator), promise: nil)
        channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}
