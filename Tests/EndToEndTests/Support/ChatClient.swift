import ChatCore
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import WSClient
import WSCompression

/// A chat participant over a real WebSocket client (swift-websocket's `WebSocketClient`, an
/// implementation independent of ours): sends texts, collects every message it receives.
final class ChatClient: Sendable {
    /// A message as the seed's clients see it.
    struct Received: Decodable, Equatable, Sendable {
        let chatroom: Int64
        let user: String
        let message: String
        let timestamp: Int64
        let seq: Int64
    }

    private enum Command: Sendable {
        case text(String)
        case frame(WebSocketFrame)
        case close(WebSocketErrorCode)
    }

    private struct State {
        var received: [Received] = []
        var undecodable: [String] = []
        /// Every text frame, in order (what a chat.v2 client reads).
        var texts: [String] = []
        var connected = false
        var closeCode: WebSocketErrorCode?
        var ended = false
    }

    /// Shared with the connection task (a `Mutex` cannot be captured by value).
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let commands: AsyncStream<Command>.Continuation
    private let task: Task<Void, any Error>

    var received: [Received] { shared.state.withLock { $0.received } }
    var undecodable: [String] { shared.state.withLock { $0.undecodable } }
    var texts: [String] { shared.state.withLock { $0.texts } }
    /// The close code the server sent, once the connection ended.
    var closeCode: WebSocketErrorCode? { shared.state.withLock { $0.closeCode } }

    private init(url: String, deflate: Bool, headers: HTTPFields) {
        let (commands, continuation) = AsyncStream<Command>.makeStream()
        self.commands = continuation
        let shared = shared
        var logger = Logger(label: "test.client")
        logger.logLevel = .critical
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: 1 << 20,
            additionalHeaders: headers,
            extensions: deflate ? [.perMessageDeflate(maxDecompressedFrameSize: 1 << 20, minFrameSizeToCompress: 16)] : []
        )
        task = Task {
            let state = shared
            defer { state.state.withLock { $0.ended = true } }
            let close = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                state.state.withLock { $0.connected = true }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await command in commands {
                            switch command {
                            case .text(let text): try await outbound.write(.text(text))
                            case .frame(let frame): try await outbound.write(.custom(frame))
                            case .close(let code): try await outbound.close(code, reason: nil)
                            }
                        }
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        state.state.withLock { $0.texts.append(text) }
                        if let decoded = try? JSONDecoder().decode(Received.self, from: Data(text.utf8)) {
                            state.state.withLock { $0.received.append(decoded) }
                        } else {
                            state.state.withLock { $0.undecodable.append(text) }
                        }
                    }
                    group.cancelAll()
                }
            }
            state.state.withLock { $0.closeCode = close?.closeCode }
        }
    }

    /// The `Origin` swift-websocket's client sends to a server on 127.0.0.1.
    static let origin = "ws://127.0.0.1"

    /// Connects and waits for the upgrade; throws when the server refuses it.
    /// With `deflate`, the client offers permessage-deflate (swift-websocket's own
    /// implementation, keeping its compression context unless the server asks otherwise).
    /// `headers` go with the upgrade request (`Authorization: Bearer …`, say).
    static func join(_ url: String, deflate: Bool = false, headers: HTTPFields = [:]) async throws -> ChatClient {
        let client = ChatClient(url: url, deflate: deflate, headers: headers)
        let connected = try await eventually("timed out joining \(url)") {
            client.shared.state.withLock { $0.connected ? true : $0.ended ? false : nil }
        }
        if !connected {
            try await client.task.value
            throw TestFailure("connection ended before it was established")
        }
        return client
    }

    func send(_ text: String) {
        commands.yield(.text(text))
    }

    func send(frame: WebSocketFrame) {
        commands.yield(.frame(frame))
    }

    /// Closes the connection normally and waits until it ended.
    func leave() async {
        commands.yield(.close(.normalClosure))
        commands.finish()
        _ = await task.result
    }

    /// Waits until at least `count` messages arrived.
    @discardableResult
    func waitForMessages(_ count: Int, within seconds: Int = 20) async throws -> [Received] {
        try await eventually("expected \(count) messages, got \(self.received.count)", timeout: .seconds(seconds)) {
            let received = self.received
            return received.count >= count ? received : nil
        }
    }

    /// Waits until the server closed the connection; returns its close code.
    func waitForClose(within seconds: Int = 10) async throws -> WebSocketErrorCode? {
        _ = try await eventually("the server did not close the connection", timeout: .seconds(seconds)) {
            shared.state.withLock { $0.ended ? true : nil }
        }
        _ = await task.result
        return closeCode
    }
}
