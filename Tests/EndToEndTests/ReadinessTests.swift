import ChatCore
import ChatStorage
import ChatTestServices
import ChatTransport
import Foundation
import Logging
import NIOWebSocket
import Testing

/// `/healthz` and `/readyz` (docs/operations.md, "Health and readiness"): not ready while a
/// configured backend is down, and while draining after SIGTERM.
@Suite(.timeLimit(.minutes(2)))
struct ReadinessTests {
    @Test func readyzIs503WhileRedisIsStoppedAndNamesIt() async throws {
        let redis = OwnServer(.redis)
        try await redis.start()
        let server = ServerID.random()
        let connected = try await BackendSelection(redis: redis.url, mariadb: nil, elasticsearch: nil).connect(server: server, logger: Logger(label: "test"))
        let node = await AdminTestNode.start(backends: connected.ports, server: server, probes: connected.probes, lifecycle: connected.lifecycle)
        do {
            for port in [node.port, node.adminPort] {
                // Eventually: on a loaded machine one ping can miss the probe's 500 ms deadline,
                // and that verdict is cached for a second.
                let ready = try await eventually("readyz on :\(port) says ready") {
                    let reply = try await LoopbackHTTP.request(.GET, port: port, "/readyz")
                    return reply.status == 200 ? reply : nil
                }
                #expect(ready.json?["status"] as? String == "ready" && ready.json?["backends"] as? [String: String] == ["redis": "up"])
            }
            try await redis.stop()
            for port in [node.port, node.adminPort] {
                let down = try await eventually("readyz on :\(port) says redis is down") {
                    let reply = try await LoopbackHTTP.request(.GET, port: port, "/readyz")
                    return reply.status == 503 ? reply : nil
                }
                #expect(down.json?["status"] as? String == "not ready")
                #expect(down.json?["message"] as? String == "not ready: redis is down")
                #expect(down.json?["backends"] as? [String: String] == ["redis": "down"])
                #expect(try await LoopbackHTTP.request(.GET, port: port, "/healthz").status == 200, "the process still serves")
            }
            await node.stop()
            await redis.remove()
        } catch {
            await node.stop()
            await redis.remove()
            throw error
        }
    }

    @Test func readyzSaysDrainingOnGracefulShutdownWhileTheServerStillServes() async throws {
        // A drain long enough that a loaded machine still sends the message inside it.
        let node = await AdminTestNode.start(backends: .inMemory(), drainDelay: .seconds(10))
        let ready = try await LoopbackHTTP.request(.GET, port: node.port, "/readyz")
        #expect(ready.status == 200 && ready.json?["backends"] as? [String: String] == [:], "in memory: no backends to list")
        let room = try await node.createRoom()
        try await node.createUser("Ann")
        let ann = try await ChatClient.join(node.joinURL(room: room, user: "Ann"))
        await node.beginShutdown()
        let draining = try await eventually("readyz says draining") {
            let reply = try await LoopbackHTTP.request(.GET, port: node.port, "/readyz")
            return reply.status == 503 ? reply : nil
        }
        #expect(draining.json?["status"] as? String == "draining")
        #expect((try await LoopbackHTTP.request(.GET, port: node.adminPort, "/readyz")).json?["status"] as? String == "draining")
        ann.send("still chatting while draining")
        #expect(try await ann.waitForMessages(1).first?.message == "still chatting while draining", "the close frames come after the drain")
        #expect(try await ann.waitForClose(within: 30) == .goingAway)
        await node.stop()
    }

    /// chatd's own ServiceGroup: SIGTERM drains first, then the server stops.
    @Test func chatdReportsDrainingAfterSIGTERMForTheDrainDelayThenExits() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--drain-delay", "3"])
        let port = try await chatd.listeningPort()
        #expect(try await LoopbackHTTP.request(.GET, port: port, "/readyz").status == 200)
        kill(chatd.process.processIdentifier, SIGTERM)
        let draining = try await eventually("readyz says draining; log:\n\(chatd.output)") {
            let reply = try await LoopbackHTTP.request(.GET, port: port, "/readyz")
            return reply.status == 503 ? reply : nil
        }
        #expect(draining.json?["status"] as? String == "draining")
        #expect(try await LoopbackHTTP.request(.GET, port: port, "/healthz").status == 200, "still serving while draining")
        #expect(try await chatd.waitForExit() == 0)
    }
}
