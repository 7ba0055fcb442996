import ChatCore
import Logging
import Testing

@testable import ChatStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the tests' Redis Cluster is: `CHAT_TEST_REDIS_CLUSTER_URL`, set by scripts/test.sh,
/// which starts 3 masters with a replica each (scripts/services/redis-cluster.sh). Without it
/// the cluster tests fail rather than skip, so a run that forgot the cluster cannot pass as green.
enum TestRedisCluster {
    static let variable = "CHAT_TEST_REDIS_CLUSTER_URL"

    static var url: String {
        get throws {
            guard let value = getenv(variable), case let url = String(cString: value), !url.isEmpty else { throw Missing() }
            return url
        }
    }

    static func configuration() throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(endpoint: BackendEndpoint(kind: .redis, url: url))
        configuration.connectTimeout = .seconds(5)  // a loaded machine may take longer than 1 s to connect
        return configuration
    }


    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "\(TestRedisCluster.variable) is not set: the cluster tests need a real Redis Cluster. Run scripts/test.sh, which starts one (scripts/services/redis-cluster.sh) and sets \(TestRedisCluster.variable)=redis+cluster://127.0.0.1:7101,…"
        }
    }
}
