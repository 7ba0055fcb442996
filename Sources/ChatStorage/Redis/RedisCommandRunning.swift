import Logging
import Metrics

/// What the Redis adapters send their commands through: one Redis (``RedisClient``) or a
/// Redis Cluster (``RedisClusterClient``, which routes each command by the slot of its key).
public protocol RedisCommandRunning: AnyObject, Sendable {
    /// Where Redis is: the adapters read the database (channel namespace) and Pub/Sub mode from it.
    var configuration: RedisConfiguration { get }

    /// Sends one command; Redis's error replies are thrown as ``RedisError``.
    @discardableResult
    func command(_ arguments: [String]) async throws -> RESPValue

    /// Closes the connections for good; later commands fail.
    func shutdown() async
}

extension RedisConfiguration {
    /// A command client for this configuration: a ``RedisClusterClient`` for a cluster URL, a
    /// ``RedisClient`` otherwise.
    public func makeCommandClient(logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) -> any RedisCommandRunning {
        if isCluster { return RedisClusterClient(configuration: self, logger: logger, metrics: metrics) }
        return RedisClient(configuration: self, logger: logger, metrics: metrics)
    }
}
