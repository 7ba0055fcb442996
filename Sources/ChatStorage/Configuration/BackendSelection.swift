import ChatCore
import Logging

/// Which backend serves each port: a URL where the operator configured one, in-memory otherwise.
public struct BackendSelection: Sendable {
    public var redis: BackendEndpoint?
    public var mariadb: BackendEndpoint?
    public var elasticsearch: BackendEndpoint?
    /// How long a server's presence lease lasts (with Redis): a crashed server's users vanish
    /// within 1.5 times this (see ``RedisPresenceSettings``).
    public var presenceLease: Duration = .seconds(10)
    /// Caps of the stores kept in process memory (users and rooms without MariaDB or Redis).
    public var memoryCapacity = InMemoryCapacity()
    /// The durable chat-log stream and its indexers (with Redis and Elasticsearch both).
    public var chatLog = RedisChatLogSettings()
    /// How long a post's client id is remembered per user and room (with Redis).
    public var postIDWindow: Duration = .seconds(300)

    public init(redis: BackendEndpoint? = nil, mariadb: BackendEndpoint? = nil, elasticsearch: BackendEndpoint? = nil) {
        self.redis = redis
        self.mariadb = mariadb
        self.elasticsearch = elasticsearch
    }

    /// Parses the three optional URLs; an empty string counts as not configured.
    public init(redis: String?, mariadb: String?, elasticsearch: String?) throws(BackendEndpoint.InvalidURL) {
        func parse(_ kind: BackendEndpoint.Kind, _ url: String?) throws(BackendEndpoint.InvalidURL) -> BackendEndpoint? {
            guard let url, !url.isEmpty else { return nil }
            return try BackendEndpoint(kind: kind, url: url)
        }
        self.redis = try parse(.redis, redis)
        self.mariadb = try parse(.mariadb, mariadb)
        self.elasticsearch = try parse(.elasticsearch, elasticsearch)
    }

    /// A line for the startup log: which backend each port runs on.
    public var summary: String {
        [
            "users, rooms: \(mariadb.map { "MariaDB \($0)" } ?? redis.map { "Redis \($0)" } ?? "in-memory")",
            "broker, presence\(mariadb != nil && redis != nil ? ", room-list cache" : ""): \(redis.map { "Redis \($0)" } ?? "in-memory")",
            "chat log: \(elasticsearch.map { "Elasticsearch \($0)" } ?? "in-memory")",
        ].joined(separator: "; ")
    }

    /// Builds the ports without connecting anywhere: only the in-memory default can be built
    /// this way; a configured backend is an error that points at ``makeBackends(server:logger:)``,
    /// rather than a silent fallback to memory.
    public func makeBackends() throws(BackendUnavailable) -> ChatBackends {
        for endpoint in [redis, mariadb, elasticsearch].compactMap({ $0 }) {
            throw BackendUnavailable(
                description: "the \(endpoint.kind.rawValue) backend (\(endpoint)) must be connected at startup; use makeBackends(server:logger:)"
            )
        }
        return .inMemory(capacity: memoryCapacity)
    }

    /// Builds the ports for the server `server`, connecting to and checking each configured
    /// backend first: with `--elasticsearch`, the chat log (whose index template must be
    /// installed); with `--mariadb`, users and rooms (whose schema must be migrated); with
    /// `--redis`, the broker, presence (with its lease), and either users and rooms too (without
    /// `--mariadb`: ``RedisUserStore``, ``RedisRoomStore``, ``RedisCredentialStore``) or the
    /// room-list cache in front of MariaDB's room store. An unreachable server or a missing
    /// schema stops start-up with a message fit for the operator, so a server never starts on a
    /// backend it cannot use, and never silently falls back to memory.
    ///
    /// With Elasticsearch, the log is an ``ElasticsearchMessageLog`` whose indexer must be
    /// flushed on shutdown (``ElasticsearchMessageLog/shutdown(within:)``). With Redis too, the
    /// log is fed from the durable Redis stream by consumers started here (its ``feed``), which
    /// stop with the log; without Redis, messages go through the in-process queue, which a
    /// crash loses.
    public func makeBackends(server: ServerID, logger: Logger) async throws(BackendUnavailable) -> ChatBackends {
        try await connect(server: server, logger: logger).ports
    }

    /// ``makeBackends(server:logger:)`` together with what must be stopped with them
    /// (``BackendLifecycle``): what chatd runs, so it needs no knowledge of the adapters.
    public func connect(server: ServerID, logger: Logger) async throws(BackendUnavailable) -> ConnectedBackends {
        var backends = ChatBackends.inMemory(capacity: memoryCapacity)
        var lifecycle = BackendLifecycle()
        var probes: [String: BackendProbe] = [:]
        var chatLogFigures: (@Sendable () async throws -> ChatLogFigures)?
        var elasticsearchLog: ElasticsearchMessageLog?
        if let elasticsearch {
            do {
                let log = try await ElasticsearchMessageLog.connect(to: elasticsearch, logger: logger)
                backends.log = log
                elasticsearchLog = log
                probes["elasticsearch"] = { _ = try await log.client.send(.GET, "/") }
                // Drained first (it stops its feed, then flushes its queue), while Redis is open.
                lifecycle.add { timeout in await log.shutdown(within: timeout) }
            } catch let error as ElasticsearchError {
                throw BackendUnavailable(description: error.description)  // it names the endpoint
            } catch {
                throw BackendUnavailable(description: "cannot use Elasticsearch at \(elasticsearch): \(error)")
            }
        }
        if let mariadb {
            let pool: MariaDBConnectionPool
            do {
                pool = try await Self.openMariaDB(mariadb)
            } catch {
                await elasticsearchLog?.shutdown(within: .zero)
                throw error
            }
            backends.users = MariaDBUserStore(pool: pool)
            backends.rooms = MariaDBRoomStore(pool: pool)
            backends.credentials = MariaDBCredentialStore(pool: pool)
            lifecycle.add { _ in await pool.shutdown() }
            probes["mariadb"] = { _ = try await pool.query("SELECT 1") }
        }
        guard let redis else { return ConnectedBackends(ports: backends, lifecycle: lifecycle, probes: probes) }
        let configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(endpoint: redis)
        } catch {
            await elasticsearchLog?.shutdown(within: .zero)
            throw BackendUnavailable(description: error.description)
        }
        let client = configuration.makeCommandClient(logger: logger)  // a cluster client for redis+cluster://
        let presence = RedisPresenceStore(
            client: client,
            server: server,
            settings: RedisPresenceSettings(lease: presenceLease),
            logger: logger
        )
        do {
            try await presence.start()
        } catch {
            await client.shutdown()
            await elasticsearchLog?.shutdown(within: .zero)
            throw BackendUnavailable(description: "cannot use Redis at \(redis): \(error)")
        }
        backends.presence = presence
        // With Elasticsearch, the durable path: the publish script appends every message to the
        // chat-log stream, and this server's consumers index it (docs/reliability.md).
        let broker = RedisMessageBroker(
            configuration: configuration,
            postIDWindow: postIDWindow,
            chatLogCapacity: elasticsearchLog.map { _ in chatLog.capacity },
            logger: logger
        )
        backends.broker = broker
        if let log = elasticsearchLog {
            let feed = RedisChatLogIndexer(configuration: configuration, elasticsearch: log.client, server: server, settings: chatLog, logger: logger)
            log.feed = feed
            feed.start()
            chatLogFigures = { try await feed.figures() }
        }
        if mariadb == nil {
            // Without MariaDB, users and rooms live in Redis too, so every chatd on it shares
            // them. No cache in front: it would be Redis caching itself.
            backends.users = RedisUserStore(client: client)
            backends.rooms = RedisRoomStore(client: client)
            backends.credentials = RedisCredentialStore(client: client)
        } else {
            backends.rooms = CachingRoomStore(base: backends.rooms, cache: RedisChatCache(client: client), logger: logger)
        }
        let cluster = RedisClusterControl(configuration: configuration, client: client, logger: logger)
        backends.cluster = cluster
        probes["redis"] = { try await client.command(["PING"]) }
        lifecycle.add { _ in
            await presence.shutdown()  // this server's users leave at once, not after the lease
            await broker.shutdown()
            await cluster.shutdown()
            await client.shutdown()
        }
        return ConnectedBackends(ports: backends, lifecycle: lifecycle, probes: probes, chatLogFigures: chatLogFigures)
    }

    /// A pool on the database, once it answered and its schema is recent enough.
    static func openMariaDB(_ endpoint: BackendEndpoint) async throws(BackendUnavailable) -> MariaDBConnectionPool {
        let configuration: MariaDBConfiguration
        do {
            configuration = try MariaDBConfiguration(endpoint: endpoint)
        } catch {
            throw BackendUnavailable(description: error.description)
        }
        let pool = MariaDBConnectionPool(configuration: configuration)
        do {
            try await MariaDBSchema.check(pool)
            return pool
        } catch {
            let failure = pool.lastFailure
            await pool.shutdown()
            if let mismatch = error as? MariaDBSchema.Mismatch {
                throw BackendUnavailable(description: mismatch.description)
            }
            throw BackendUnavailable(
                description: "cannot use MariaDB \(endpoint) for users and rooms: \(failure.map { "\($0)" } ?? "\(error)")"
            )
        }
    }
}

/// A configured backend that cannot be used.
public struct BackendUnavailable: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
