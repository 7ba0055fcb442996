import ChatTestServices
import Foundation
import Testing

/// The backends' own counts reach chatd's `GET /metrics` (docs/operations.md, "Metrics"): the
/// Redis adapters are made after the registry is bootstrapped, so they record into it.
@Suite(.timeLimit(.minutes(2)))
struct BackendMetricsTests {
    @Test func aRedisOutageShowsAsCacheFailuresAndTheReconnectAfterIt() async throws {
        let redis = OwnServer(.redis)
        let mariadb = OwnServer(.mariadb)  // rooms in MariaDB: Redis caches their list
        try await redis.start()
        try await mariadb.start()
        let migrate = try ChatdProcess(["migrate", "--mariadb", mariadb.url])
        #expect(try await migrate.waitForExit() == 0, "chatd migrate: \(migrate.output)")
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--auth", "none", "--redis", redis.url, "--mariadb", mariadb.url])
        do {
            let port = try await chatd.listeningPort()
            let adminPort = try await eventually("the admin listener's port; log:\n\(chatd.output)") {
                chatd.output.split(separator: "\n").first { $0.contains("admin listener on ") }
                    .flatMap { $0.split(separator: "admin listener on ").last?.split(separator: " ").first?.split(separator: ":").last }
                    .flatMap { Int($0) }
            }
            let scrape = { MetricsText(try await AdminHTTP.text(port: adminPort, "/metrics")) }
            let before = try await scrape()
            for series in ["chatd_redis_reconnects_total", "chatd_redis_undecodable_payloads_total", "chatd_redis_missed_messages_total"] {
                #expect(before.text.contains("\n\(series) 0"), "\(series) is exported from the start:\n\(before.text)")
            }
            #expect(before.int("chatd_room_cache_failures_total") == 0)

            try await redis.stop()
            // The new room (in MariaDB) invalidates the cached list, which fails while Redis is
            // down, and the room is made all the same.
            #expect(try await LoopbackHTTP.request(.POST, port: port, "/v1/chatrooms", body: "").status == 200, "a failing cache is not fatal")
            #expect(try await scrape().int("chatd_room_cache_failures_total", ["operation": "invalidate"]) >= 1)

            try await redis.start()
            _ = try await eventually("a reconnect to Redis is counted") {
                _ = try await LoopbackHTTP.request(.GET, port: port, "/v1/chatrooms")  // a read through the cache
                if try await scrape().int("chatd_redis_reconnects_total") >= 1 { return true }
                try await Task.sleep(for: .milliseconds(100))
                return nil
            }
            kill(chatd.process.processIdentifier, SIGTERM)
            #expect(try await chatd.waitForExit() == 0)
            await redis.remove()
            await mariadb.remove()
        } catch {
            kill(chatd.process.processIdentifier, SIGKILL)
            await redis.remove()
            await mariadb.remove()
            throw error
        }
    }
}
