import ChatCore
import ChatStorage
import ChatTestServices
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the tests' Redis is: `CHAT_TEST_REDIS_URL`, set by scripts/test.sh, which starts a
/// throwaway redis-server (scripts/services/redis.sh). Without it the Redis tests fail rather
/// than skip, so a run that forgot the server cannot pass as green.
enum TestRedis {
    static let variable = "CHAT_TEST_REDIS_URL"

    static func configuration(database: Int? = nil) throws -> RedisConfiguration {
        guard let url = environment(variable), !url.isEmpty else {
            throw MissingRedis()
        }
        var configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: url))
        if let database { configuration.database = database }
        // 5 s like the cluster targets: a loopback connect is instant, but CI's first seconds
        // start every suite's servers at once, and 1 s ran out there.
        configuration.connectTimeout = .seconds(5)
        return configuration
    }

    static let logger: Logger = {
        var logger = Logger(label: "redis-test")
        logger.logLevel = .warning
        return logger
    }()

    struct MissingRedis: Error, CustomStringConvertible {
        var description: String {
            "\(TestRedis.variable) is not set: the Redis tests need a real redis-server. Run scripts/test.sh, which starts one (scripts/services/redis.sh) and sets \(TestRedis.variable)=redis://127.0.0.1:6390"
        }
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

/// The servers the Redis suites that must hold on Redis Cluster run against: the plain Redis
/// and a one-node cluster (`CHAT_TEST_REDIS_ONE_NODE_CLUSTER_URL`, scripts/test.sh starts it
/// with scripts/services/redis.sh's REDIS_CLUSTER=yes). The cluster refuses a multi-key command
/// or script whose KEYS are of several slots (CROSSSLOT) and carries shard channels, so the
/// adapters run there with ``RedisConfiguration/shardedPubSub``. Like the plain one, a missing
/// URL fails the tests rather than skipping them.
enum RedisTarget: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case plain
    case oneNodeCluster
    /// The test command's 3-master Redis Cluster (``TestRedisCluster``), through the cluster
    /// client: only for suites that build their clients with `makeCommandClient`.
    case cluster

    /// The targets a plain ``RedisClient`` can talk to (one node owns every slot).
    static let allCases: [RedisTarget] = [.plain, .oneNodeCluster]
    /// Every deployment the adapters support: a single Redis, and a real cluster.
    static let withCluster: [RedisTarget] = allCases + [.cluster]

    static let clusterVariable = "CHAT_TEST_REDIS_ONE_NODE_CLUSTER_URL"

    var testDescription: String { rawValue }

    /// The target's configuration. A cluster has database 0 only: `database` is for the plain
    /// Redis (suites that need one of their own there).
    func configuration(database: Int? = nil) throws -> RedisConfiguration {
        switch self {
        case .plain:
            // As for the clusters below: no case here waits out an unreachable server, and the
            // targets multiply the suites' connections at once, which a loaded machine may take
            // longer than 1 s to accept (CI saw it).
            var configuration = try TestRedis.configuration(database: database)
            configuration.connectTimeout = .seconds(5)
            return configuration
        case .oneNodeCluster:
            guard let value = getenv(Self.clusterVariable), case let url = String(cString: value), !url.isEmpty else {
                throw MissingCluster()
            }
            var configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: url))
            // No case here waits out an unreachable server, and these cases double the Redis
            // suites' connections at once: a loaded machine may take longer than 1 s to connect.
            configuration.connectTimeout = .seconds(5)
            configuration.shardedPubSub = true
            return configuration
        case .cluster:
            return try TestRedisCluster.configuration()
        }
    }

    struct MissingCluster: Error, CustomStringConvertible {
        var description: String {
            "\(RedisTarget.clusterVariable) is not set: these tests also run on a one-node Redis Cluster. Run scripts/test.sh, which starts one (REDIS_CLUSTER=yes scripts/services/redis.sh) and sets \(RedisTarget.clusterVariable)=redis://127.0.0.1:6391"
        }
    }
}

/// Brokers made during one test, shut down together at its end.
final class BrokerPool: Sendable {
    private let brokers = Mutex<[RedisMessageBroker]>([])
    private let configuration: RedisConfiguration

    init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    func make(recentCapacity: Int = 1_000) -> RedisMessageBroker {
        let broker = RedisMessageBroker(configuration: configuration, recentCapacity: recentCapacity, metrics: MeasuredMetrics().factory, logger: TestRedis.logger)
        brokers.withLock { $0.append(broker) }
        return broker
    }

    func shutdown() async {
        for broker in brokers.withLock({ $0 }) { await broker.shutdown() }
    }
}

/// Collects deliveries from the event loop and waits for a count with a deadline.
final class Inbox: Sendable {
    private let state = Mutex<[ChatMessage]>([])

    var messages: [ChatMessage] { state.withLock { $0 } }

    func add(_ message: ChatMessage) {
        state.withLock { $0.append(message) }
    }

    func wait(for count: Int, within limit: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while messages.count < count {
            if ContinuousClock.now >= deadline {
                Issue.record("expected \(count) messages, got \(messages.count)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Polls `condition` until it holds or `limit` passes; returns whether it held.
func eventually(within limit: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: limit)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

func uniqueRoom() -> RoomID { RoomID(Int64.random(in: 1_000_000_000...9_000_000_000_000)) }

extension RedisMessageBroker {
    /// The broker's metrics, as scraped now (made with a ``MeasuredMetrics`` factory).
    var measured: MetricsText { MetricsText(factory: metrics) }

    /// `chatd_redis_reconnects_total` of both its connections: 0 while each stayed on its first.
    var reconnects: Int { measured.int("chatd_redis_reconnects_total") }
}
