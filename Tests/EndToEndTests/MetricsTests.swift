import ChatCore
import ChatTestServices
import ChatTransport
import Foundation
import Testing

/// The metrics move with traffic (docs/operations.md, "Metrics"), read from the admin
/// listener's `GET /metrics` as Prometheus would.
@Suite(.timeLimit(.minutes(2)))
struct MetricsTests {
    @Test func postsToARoomCountPublishedMessagesDeliveriesPerMemberAndClosesByCode() async throws {
        let node = await AdminTestNode.start(backends: .inMemory())
        do {
            let room = try await node.createRoom()
            let members = 3
            let posts = 5
            var clients: [ChatClient] = []
            for number in 0..<members {
                try await node.createUser("member\(number)")
                clients.append(try await ChatClient.join(node.joinURL(room: room, user: "member\(number)")))
            }
            // Once everyone has a first message, every member is live in the fan-out.
            clients[0].send("warm-up")
            for client in clients { try await client.waitForMessages(1) }
            let before = try await node.scrape()
            #expect(before.int("chatd_connections", ["auth": "none"]) == members)
            #expect(before.int("chatd_rooms_active") == 1)

            for number in 1...posts { clients[number % members].send("message \(number)") }
            for client in clients { try await client.waitForMessages(1 + posts) }
            let after = try await node.scrape()
            #expect(after.int("chatd_messages_published_total") - before.int("chatd_messages_published_total") == posts)
            #expect(after.int("chatd_deliveries_total") - before.int("chatd_deliveries_total") == posts * members, "N x M")
            #expect(after.int("chatd_delivery_latency_seconds_count") > before.int("chatd_delivery_latency_seconds_count"))
            #expect(after.int("chatd_join_history_seconds_count") == members)
            #expect(after.int("chatd_http_requests_total", ["route": "/v1/chatrooms", "status": "200"]) == 1, "the room's creation")

            for client in clients { await client.leave() }
            let closed = try await eventually("closes by code") {
                let metrics = try await node.scrape()
                return metrics.int("chatd_ws_closes_total", ["code": "1000"]) == members && metrics.int("chatd_connections") == 0 ? metrics : nil
            }
            #expect(closed.int("chatd_rooms_active") == 0)
            #expect(closed.text.contains("# TYPE chatd_deliveries_total counter"))
            await node.stop()
        } catch {
            await node.stop()
            throw error
        }
    }

    @Test func aRefusedOriginAndAFailedAuthenticationCountAsRejectedWithTheirReason() async throws {
        try await TestServer.with { server in
            let room = try await server.createRoom()
            try await server.createUser("Ann")
            let path = server.joinPath(room: room, user: "Ann")
            let evil = try await RawHTTP.exchange(port: server.port, RawHTTP.upgradeRequest(path, extraHeaders: ["Origin: https://evil.example"]))
            #expect(evil.hasPrefix("HTTP/1.1 403"))
            let wrong = try await server.request(.GET, "/v1/chatrooms/\(room)/join?access_token=not-a-token")
            #expect(wrong.status == 401)
            let metrics = server.counters.metrics
            #expect(metrics.int("chatd_rejected_total", ["reason": "origin"]) == 1)
            #expect(metrics.int("chatd_rejected_total", ["reason": "authentication"]) == 1)
            #expect(metrics.int("chatd_rejected_total") == 2, "nothing else was refused")
        }
    }

    /// chatd itself: the Prometheus registry is bootstrapped and the process figures are sampled.
    @Test func chatdServesItsMetricsOnTheAdminListenerOnly() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--auth", "none"])
        let port = try await chatd.listeningPort()
        let adminPort = try await eventually("the admin listener's port; log:\n\(chatd.output)") {
            chatd.output.split(separator: "\n").first { $0.contains("admin listener on ") }
                .flatMap { $0.split(separator: "admin listener on ").last?.split(separator: " ").first?.split(separator: ":").last }
                .flatMap { Int($0) }
        }
        _ = try await LoopbackHTTP.request(.POST, port: port, "/v1/users", body: #"{"name": "Ann"}"#)
        let metrics = MetricsText(try await AdminHTTP.text(port: adminPort, "/metrics"))
        #expect(metrics.int("chatd_http_requests_total", ["route": "/v1/users", "status": "200"]) == 1)
        #expect(metrics.value("process_resident_memory_bytes") > 0)
        #expect(metrics.value("process_open_fds") > 0)
        #expect(try await LoopbackHTTP.request(.GET, port: port, "/metrics").status == 404, "not on the public listener")
        kill(chatd.process.processIdentifier, SIGTERM)
        #expect(try await chatd.waitForExit() == 0)
    }
}
