import ChatCore
import ChatTestServices
import ChatTransport
import Foundation
import NIOWebSocket
import Testing

/// permessage-deflate and the per-connection limits over real sockets, with swift-websocket's
/// client (its own deflate implementation) and Python's `websockets` package.
@Suite(.timeLimit(.minutes(2)))
struct CompressionAndLimitTests {
    @Test(arguments: [true, false])
    func compressingAndPlainClientsChatInOneRoom(serverAsksForNoContextTakeover: Bool) async throws {
        var configuration = ChatServerConfiguration()
        configuration.deflate = PerMessageDeflateSettings(minimumCompressedPayloadBytes: 32, requestsClientNoContextTakeover: serverAsksForNoContextTakeover)
        try await TestServer.with(configuration: configuration) { server in
            let room = try await server.createRoom()
            try await server.createUser("Zip")
            try await server.createUser("Plain")
            let zip = try await ChatClient.join(server.joinURL(room: room, user: "Zip"), deflate: true)
            let plain = try await ChatClient.join(server.joinURL(room: room, user: "Plain"))
            #expect(server.counters.deflateSessionsNegotiated == 1)

            let long = String(repeating: "a long and very compressible line; ", count: 30)
            let texts = ["hi", long, "héllo wörld ✓ 你好", long + " again", String(repeating: "🙂", count: 100)]
            for (index, text) in texts.enumerated() {
                (index.isMultiple(of: 2) ? zip : plain).send(text)
                _ = try await zip.waitForMessages(index + 1)
            }
            let expected = texts.enumerated().map { index, text in (index.isMultiple(of: 2) ? "Zip" : "Plain", text) }
            for client in [zip, plain] {
                let received = try await client.waitForMessages(texts.count)
                #expect(received.map(\.user) == expected.map(\.0))
                #expect(received.map(\.message) == expected.map(\.1))
            }
            await zip.leave()
            await plain.leave()
        }
    }

    @Test func pythonWebsocketsNegotiatesDeflateAndChatsWithAPlainClient() async throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["CHAT_TEST_PYTHON"],
            "CHAT_TEST_PYTHON (a Python with the `websockets` package) is unset: run scripts/test.sh"
        )
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/interop/deflate_interop.py")
        try await TestServer.with { server in
            let run = try ExternalProcess(python, [script.path, "--url", server.baseURL])
            let status = try await run.waitForExit(within: 60)
            #expect(status == 0, "deflate_interop.py failed:\n\(run.output)")
            #expect(server.counters.deflateSessionsNegotiated == 1)
        }
    }

    @Test func aClientSendingFasterThanTheRateLimitIsClosedWith1008() async throws {
        try await TestServer.with(configuration: .init(maximumMessagesPerSecond: 10)) { server in
            let room = try await server.createRoom()
            try await server.createUser("Spammer")
            let spammer = try await ChatClient.join(server.joinURL(room: room, user: "Spammer"))
            for index in 0..<30 { spammer.send("spam \(index)") }
            #expect(try await spammer.waitForClose() == .policyViolation)
            #expect(server.counters.rateLimitedClosed == 1)
            #expect(spammer.received.count <= 10, "the burst allowance is one second's worth")
        }
    }

    @Test func aConnectionThatStopsAnsweringIsReapedAfterTheIdleTimeout() async throws {
        // Short enough for a test, long enough that a client answering pings on a busy machine
        // (the conformance suite runs beside the tests) is never mistaken for a dead one.
        let configuration = ChatServerConfiguration(pingInterval: .milliseconds(500), idleTimeout: .seconds(3))
        try await TestServer.with(configuration: configuration) { server in
            let room = try await server.createRoom()
            try await server.createUser("Ghost")
            try await server.createUser("Alive")
            // A raw client that completes the upgrade, then never reads or answers a ping.
            let ghost = try await RawHTTP.stalledJoin(port: server.port, path: server.joinPath(room: room, user: "Ghost"))
            let alive = try await ChatClient.join(server.joinURL(room: room, user: "Alive"))
            // Reaped for silence (counted), while the client that answers pings stays.
            _ = try await eventually("the silent connection was not reaped") { server.counters.idleTimeoutsClosed == 1 ? true : nil }
            try await server.waitForUsers(in: room, toBe: ["Alive"])
            try await Task.sleep(for: .seconds(2))  // a few more ping intervals
            #expect(server.counters.idleTimeoutsClosed == 1)
            alive.send("still here")
            #expect(try await alive.waitForMessages(1).map(\.message) == ["still here"])
            try? await ghost.close()  // the server closed it already
            await alive.leave()
        }
    }
}
