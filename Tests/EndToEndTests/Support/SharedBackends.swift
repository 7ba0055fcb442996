import ChatStorage
import Foundation
import Logging

/// A MariaDB database and a Redis database of one test's own, on the servers scripts/test.sh
/// starts, for several chatd processes to share.
struct SharedBackends {
    let mariadbURL: String
    let redisURL: String
    private let mariadb: MariaDBConfiguration
    private let database: String

    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "CHAT_TEST_REDIS_URL and CHAT_TEST_MARIADB_URL must name the test servers: run scripts/test.sh, which starts both"
        }
    }

    /// Makes an empty MariaDB database (not migrated) and empties Redis database `redisDatabase`
    /// (tests that run chatd processes each take their own number, 7 to 31; scripts/services/redis.sh
    /// starts Redis with 32 databases).
    static func make(redisDatabase: Int) async throws -> SharedBackends {
        let environment = ProcessInfo.processInfo.environment
        guard let mariadbBase = environment["CHAT_TEST_MARIADB_URL"], let redisBase = environment["CHAT_TEST_REDIS_URL"] else {
            throw NotConfigured()
        }
        let base = try MariaDBConfiguration(url: mariadbBase)
        let database = "chat_e2e_\(UInt32.random(in: 0...UInt32.max))"
        let admin = MariaDBConnectionPool(configuration: base)
        _ = try await admin.execute("CREATE DATABASE `\(database)` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        await admin.shutdown()

        var redisConfiguration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: redisBase))
        redisConfiguration.database = redisDatabase
        let redis = RedisClient(configuration: redisConfiguration, logger: Logger(label: "test.redis"))
        _ = try await redis.command(["FLUSHDB"])
        await redis.shutdown()

        let redisURL = "redis://\(redisConfiguration.host):\(redisConfiguration.port)/\(redisDatabase)"
        let mariadbURL = "mariadb://\(base.user):\(base.password)@\(base.host):\(base.port)/\(database)"
        return SharedBackends(mariadbURL: mariadbURL, redisURL: redisURL, mariadb: base, database: database)
    }

    func drop() async {
        let admin = MariaDBConnectionPool(configuration: mariadb)
        _ = try? await admin.execute("DROP DATABASE IF EXISTS `\(database)`")
        await admin.shutdown()
    }
}
