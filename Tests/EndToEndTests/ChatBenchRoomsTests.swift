import ChatTestServices
import Foundation
import Testing

/// `chat-bench rooms` over two chatd processes on one Redis (and MariaDB, so both know every
/// user and room): nothing lost, duplicated or reordered, every room delivered, and each
/// server subscribed to exactly the rooms it has members in. In ChatBenchTests, so it runs
/// serialized with the other chat-bench runs. No figure of speed is asserted.
extension ChatBenchTests {
    @Test func roomsSpreadOverTwoServersLoseNothingAndEachServerHoldsItsOwnRooms() async throws {
        let backends = try await SharedBackends.make(redisDatabase: 17)
        var started: [ChatdProcess] = []
        do {
            let migrate = try ChatdProcess(["migrate", "--mariadb", backends.mariadbURL])
            #expect(try await migrate.waitForExit() == 0, "chatd migrate: \(migrate.output)")
            let flags = [
                "--host", "127.0.0.1", "--port", "0", "--message-rate", "0", "--room-quota", "0",
                "--redis", backends.redisURL, "--mariadb", backends.mariadbURL,
            ]
            for _ in 0..<2 { started.append(try ChatdProcess(flags)) }
            var servers: [String] = []
            for chatd in started {
                servers += [
                    "--url", "http://127.0.0.1:\(try await chatd.listeningPort())",
                    "--admin-url", "http://127.0.0.1:\(try await Self.adminPort(of: chatd))",
                    "--server-pid", "\(chatd.process.processIdentifier)",
                ]
            }
            // 20 rooms x 3 members over 2 servers: every room spans both.
            let json = try await Self.chatBench(
                ["rooms"] + servers + [
                    "--redis-url", backends.redisURL, "--rooms", "20", "--members", "3", "--rate-per-room", "2", "--warmup", "0.5", "--duration", "2",
                    "--join-samples", "2",
                ])
            try Self.expectCompleteRooms(json, rooms: 20, members: 3, roomsPerServer: [20, 20], membersPerServer: [30, 30])
            let join = try #require(json["join"] as? [String: Any])
            #expect((join["first_on_server_ms"] as? [String: Any])?["count"] as? Int == 40, "each room's first member on each server timed")
            #expect((join["later_ms"] as? [String: Any])?["count"] as? Int == 20)
            #expect(join["subscription_ms_p50"] is Double)
            let unloaded = try #require(json["join_unloaded"] as? [String: Any], "joins timed one at a time after the run")
            #expect((unloaded["first_on_server_ms"] as? [String: Any])?["count"] as? Int == 4, "2 sampled rooms on each of 2 servers")
            #expect((unloaded["later_ms"] as? [String: Any])?["count"] as? Int == 4)
            let redis = try #require(json["redis"] as? [String: Any], "Redis's CPU read with --redis-url")
            #expect((redis["cpu_seconds"] as? Double ?? -1) >= 0)

            // Low rate, many rooms, one member each: 0.25 messages/s per room, 10/s in all. The
            // rooms alternate between the servers, so each must subscribe to its half only.
            let lowRate = try await Self.chatBench(
                ["rooms"] + servers + ["--rooms", "40", "--members", "1", "--rate-per-room", "0.25", "--warmup", "0", "--duration", "4", "--join-samples", "0"])
            try Self.expectCompleteRooms(lowRate, rooms: 40, members: 1, roomsPerServer: [20, 20], membersPerServer: [20, 20])
            #expect(lowRate["total_rate"] as? Double == 10)
            #expect(lowRate["join_unloaded"] == nil, "--join-samples 0: none")
            #expect((lowRate["messages_published"] as? Int ?? 0) >= 40, "every room published at least once")

            for chatd in started { try await Self.stop(chatd) }
            await backends.drop()
        } catch {
            for chatd in started where chatd.process.isRunning { chatd.process.terminate() }
            await backends.drop()
            throw error
        }
    }

    @Test func roomsRefusesAWindowTooShortForItsRate() async throws {
        let (status, _, errors) = try await Self.runChatBench(["rooms", "--url", "http://127.0.0.1:1", "--rate-per-room", "0.01", "--duration", "10"])
        #expect(status != 0)
        #expect(errors.contains("every room must publish in the measured window"), "\(errors)")
        let (both, _, bothErrors) = try await Self.runChatBench(["rooms", "--url", "http://127.0.0.1:1", "--rate-per-room", "1", "--total-rate", "5"])
        #expect(both != 0 && bothErrors.contains("either --rate-per-room or --total-rate"), "\(bothErrors)")
    }

    /// Every figure of a rooms run present and every check passed.
    static func expectCompleteRooms(_ json: [String: Any], rooms: Int, members: Int, roomsPerServer: [Int], membersPerServer: [Int]) throws {
        let published = try #require(json["messages_published"] as? Int)
        #expect(published > 0)
        #expect(json["expected_deliveries"] as? Int == published * members)
        #expect(json["deliveries"] as? Int == published * members)
        for check in ["lost", "duplicated", "out_of_order", "unparsed_frames", "closed_by_server", "rooms_short"] {
            #expect(json[check] as? Int == 0, "\(check) in \(json)")
        }
        #expect(json["rooms_with_deliveries"] as? Int == rooms, "every room got deliveries")
        let latency = try #require(json["latency_ms"] as? [String: Any])
        for field in ["p50", "p90", "p99", "max"] { #expect(latency[field] is Double, "missing latency_ms.\(field)") }
        #expect((latency["p50"] as? Double ?? 0) > 0)
        let servers = try #require(json["servers"] as? [[String: Any]])
        #expect(servers.map { $0["rooms_with_members"] as? Int } == roomsPerServer.map { $0 })
        #expect(servers.map { $0["rooms_active"] as? Int } == roomsPerServer.map { $0 }, "each server subscribed to exactly its rooms: \(servers)")
        #expect(servers.map { $0["members"] as? Int } == membersPerServer.map { $0 })
        #expect(servers.map { $0["connections"] as? Int } == membersPerServer.map { $0 }, "\(servers)")
        let machine = try #require(json["server_plus_client"] as? [String: Any], "the whole-machine figure with --server-pid")
        for field in ["user_us_per_delivery", "system_us_per_delivery", "total_us_per_delivery"] {
            #expect(machine[field] is Double, "server_plus_client.\(field) in \(machine)")
        }
        #expect((machine["total_us_per_delivery"] as? Double ?? 0) > 0)
    }

    /// The admin listener's port, from chatd's "admin listener on HOST:PORT" log line.
    static func adminPort(of chatd: ChatdProcess) async throws -> Int {
        try await eventually("the admin listener's port; log:\n\(chatd.output)") {
            chatd.output.split(separator: "\n").first { $0.contains("admin listener on ") }
                .flatMap { $0.split(separator: "admin listener on ").last?.split(separator: " ").first?.split(separator: ":").last }
                .flatMap { Int($0) }
        }
    }
}
