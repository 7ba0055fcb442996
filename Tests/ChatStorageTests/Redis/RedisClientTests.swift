import ChatStorage
import ChatTestServices
import NIOCore
import Testing

/// The client itself: hiredis's reader across many TCP reads, replies matched to pipelined
/// commands in order, and Redis's error and nil replies.
@Suite struct RedisClientTests {
    @Test func aLargeValueSurvivesTheRoundTrip() async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(database: 4), logger: TestRedis.logger)
        let key = "chat:test:large:\(UInt64.random(in: 0...UInt64.max))"
        let value = String((0..<2_000_000).map { _ in "abcdefghij🙂\n\r\0".randomElement()! })
        try await client.command(["SET", key, value, "PX", "60000"])
        let reply = try await client.command(["GET", key])
        #expect(reply.string == value, "a multi-megabyte bulk string, arriving in many reads, is one reply")
        try await client.command(["DEL", key])
        await client.shutdown()
    }

    @Test func pipelinedRepliesMatchTheirCommands() async throws {
        let metrics = MeasuredMetrics()
        let client = RedisClient(configuration: try TestRedis.configuration(database: 4), logger: TestRedis.logger, metrics: metrics.factory)
        let key = "chat:test:echo:\(UInt64.random(in: 0...UInt64.max))"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<500 {
                group.addTask {
                    let reply = try await client.command(["ECHO", "reply \(index)"])
                    #expect(reply.string == "reply \(index)")
                }
            }
            try await group.waitForAll()
        }
        let counts = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<200 { group.addTask { try await client.command(["INCR", key]).int ?? -1 } }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(counts.sorted() == Array(1...200))
        #expect(metrics.int("chatd_redis_reconnects_total") == 0, "every command on the first connection")
        try await client.command(["DEL", key])
        await client.shutdown()
    }

    @Test func errorAndNilRepliesAreTold() async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(database: 4), logger: TestRedis.logger)
        let key = "chat:test:list:\(UInt64.random(in: 0...UInt64.max))"
        try await client.command(["RPUSH", key, "a", "b"])
        await #expect {
            try await client.command(["GET", key])
        } throws: { error in
            (error as? RedisError)?.code == "WRONGTYPE"
        }
        #expect(try await client.command(["LRANGE", key, "0", "-1"]) == .array([.bulkString(ByteBuffer(string: "a")), .bulkString(ByteBuffer(string: "b"))]))
        #expect(try await client.command(["GET", "\(key):missing"]).isNull)
        #expect(try await client.command(["PING"]) == .simpleString("PONG"))
        #expect(try await client.command(["ECHO", "after errors"]).string == "after errors", "the connection stays usable")
        try await client.command(["DEL", key])
        await client.shutdown()
    }
}
