import ChatCore
import ChatTestServices
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import ChatTransport

/// The child channel in process (NIOAsyncTestingChannel): the join's upgrade and its
/// refusals, the connection limits at accept and the request deadline, with no sockets.
@Suite(.timeLimit(.minutes(1)))
struct ChatServerChannelTests {
    let service = ChatService(backends: .inMemory())
    let counters = TransportCounters.measured()
    let logger = Logger(label: "test")

    func makeChannel(configuration: ChatServerConfiguration = .init(), limiter: ConnectionLimiter? = nil) -> ChatServerChannel {
        let hub = RoomHub(
            service: service, slowConsumers: configuration.slowConsumerPolicy, counters: counters, compressors: nil,
            flushWindow: .zero, logger: logger
        )
        return ChatServerChannel(
            responder: { _, _, _ in }, service: service, hub: hub, compressors: nil, counters: counters,
            configuration: configuration,
            // The seed's open join (`?user=`): authentication has tests of its own.
            access: AccessControl(settings: AccessSettings(mode: .open), authenticator: nil, counters: counters),
            limiter: limiter ?? ConnectionLimiter(limits: configuration.abuseLimits), logger: logger
        )
    }

    /// A connected testing channel set up as the server would, with its handling running.
    func accept(_ server: ChatServerChannel, from address: String = "10.0.0.1") async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: try SocketAddress(ipAddress: address, port: 40_000))
        let logger = logger
        let value = try await channel.eventLoop.flatSubmit { server.setup(channel: channel, logger: logger) }.get()
        Task { await server.handle(value: value, logger: logger) }
        return channel
    }

    /// Everything written until `done` is satisfied by it (or the channel closes).
    func response(of channel: NIOAsyncTestingChannel, until done: @escaping (String) -> Bool = { $0.contains("\r\n\r\n") }) async throws -> String {
        var text = ""
        while !done(text) {
            let part = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            text += String(buffer: part)
        }
        return text
    }

    static func upgrade(_ path: String, headers: [String] = []) -> ByteBuffer {
        ByteBuffer(
            string: "GET \(path) HTTP/1.1\r\nHost: chat.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + headers.map { $0 + "\r\n" }.joined() + "\r\n")
    }

    @Test func anAdmittedJoinGets101ThenTheRoomsMessages() async throws {
        let room = try await service.createRoom()
        let ann = try await service.createUser(named: "Ann")
        let channel = try await accept(makeChannel())
        try await channel.writeInbound(Self.upgrade("/v1/chatrooms/\(room)/join?user=Ann", headers: ["Origin: https://chat.example"]))
        let head = try await response(of: channel)
        #expect(head.hasPrefix("HTTP/1.1 101"), "\(head.prefix(40))")
        // Once listed, a posted message reaches the socket as a text frame.
        var delivered = ""
        for attempt in 0..<200 where !delivered.contains("hello") {
            _ = try await service.post("hello \(attempt)", by: ann, in: room)
            try await Task.sleep(for: .milliseconds(10))
            while let frame = try await channel.readOutbound(as: ByteBuffer.self) { delivered += String(buffer: frame) }
        }
        #expect(delivered.contains(#""message":"hello"#))
        try await channel.close()
    }

    @Test func aJoinFromAForeignOriginIs403JSONAndClosed() async throws {
        let room = try await service.createRoom()
        _ = try await service.createUser(named: "Ann")
        let channel = try await accept(makeChannel())
        try await channel.writeInbound(Self.upgrade("/v1/chatrooms/\(room)/join?user=Ann", headers: ["Origin: https://evil.example"]))
        let answer = try await response(of: channel) { $0.hasSuffix("}") }
        #expect(answer.hasPrefix("HTTP/1.1 403"))
        #expect(answer.contains("may not join"))
        #expect(counters.originsRefused == 1)
        try await channel.closeFuture.get()
    }

    @Test func aConnectionOverTheTotalIsAnswered503BeforeAnyRequest() async throws {
        var configuration = ChatServerConfiguration()
        configuration.abuseLimits.maximumConnections = 1
        let server = makeChannel(configuration: configuration)
        let first = try await accept(server, from: "10.0.0.1")
        let second = try await accept(server, from: "10.0.0.2")
        let answer = try await response(of: second) { $0.hasSuffix("}") }
        #expect(answer.hasPrefix("HTTP/1.1 503"))
        #expect(answer.contains("Connection: close"))
        #expect(counters.connectionsRefusedServerFull == 1)
        try await first.close()
        try? await second.close()  // the refusal may have closed it already
    }

    @Test func anUpgradeWhoseBodyNeverArrivesIsClosedAtTheDeadline() async throws {
        let room = try await service.createRoom()
        _ = try await service.createUser(named: "Ann")
        var configuration = ChatServerConfiguration()
        configuration.abuseLimits.requestDeadline = .seconds(10)
        let channel = try await accept(makeChannel(configuration: configuration))
        try await channel.writeInbound(Self.upgrade("/v1/chatrooms/\(room)/join?user=Ann", headers: ["Content-Length: 1"]))
        await channel.testingEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive, "still within the deadline")
        await channel.testingEventLoop.advanceTime(by: .seconds(2))
        try await channel.closeFuture.get()
        #expect(counters.requestDeadlinesMissed == 1)
    }
}
