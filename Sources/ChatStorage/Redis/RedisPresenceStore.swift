import ChatCore
import Logging
import Metrics
import NIOCore
import Synchronization

/// Presence across servers: per-room hashes from connection to user, and a lease per server.
///
/// A server's lease is its score (the time it expires) in the server set of each partition
/// where it has connections (``RedisKeys/presenceServers(_:)``): entering a room extends it
/// there, and while the server runs (``start()``) it renews it in every partition it has
/// connections in. Every server sweeps the partitions' server sets and reaps the servers whose
/// lease there expired, so a crashed server's users disappear within
/// ``RedisPresenceSettings/reapBound``. A server that stops cleanly reaps itself at once
/// (``shutdown()``). Each step touches one partition's keys (one slot on a cluster).
public final class RedisPresenceStore: PresenceStore {
    public let server: ServerID
    public let settings: RedisPresenceSettings
    private let client: any RedisCommandRunning
    private let logger: Logger
    private let enterScript = RedisScript(RedisPresenceScripts.enter)
    private let leaveScript = RedisScript(RedisPresenceScripts.leave)
    private let reapScript = RedisScript(RedisPresenceScripts.reap)
    private let refreshScript = RedisScript(RedisPresenceScripts.refresh)
    /// Presence events arrive over Pub/Sub: a connection of their own, made at the first watch.
    private let events: any RedisChannelSubscribing
    private let maintenance = Mutex<Task<Void, Never>?>(nil)
    /// `chatd_presence_maintenance_failures_total`.
    private let failures: Counter
    /// This server's own connections, so that they can be announced again if survivors reaped
    /// them while this server was alive but cut off (its lease expired, then came back).
    /// Keyed by the connection itself (a connection is in one room): no key string per connection.
    private let local = Mutex<[ConnectionID: (user: UserName, room: RoomID)]>([:])

    /// `metrics` counts the lease refreshes and sweeps that failed (logged, then retried at the
    /// next interval) and makes the events connection's reconnects.
    public init(
        client: any RedisCommandRunning, server: ServerID, settings: RedisPresenceSettings = .init(), metrics: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.client = client
        self.server = server
        self.settings = settings
        self.logger = logger
        self.events = client.configuration.makeSubscriber(sharded: client.configuration.shardedPubSub, logger: logger, metrics: metrics)
        self.failures = Counter(label: "chatd_presence_maintenance_failures_total", dimensions: [], factory: metrics)
    }

    public func enter(_ user: UserName, room: RoomID, connection: ConnectionID) async throws {
        if connection.server == server {
            local.withLock { $0[connection] = (user, room) }
        }
        try await announce(user, room: room, connection: connection)
    }

    private func announce(_ user: UserName, room: RoomID, connection: ConnectionID) async throws {
        _ = try await enterScript.run(
            on: client,
            keys: RedisPresenceScripts.enterKeys(room: room, server: connection.server),
            arguments: [
                RedisKeys.presenceField(connection), user.rawValue, String(room.rawValue), connection.server.rawValue,
                channel(of: room), String(settings.lease.milliseconds), publishCommand,
            ]
        )
    }

    public func leave(_ user: UserName, room: RoomID, connection: ConnectionID) async throws {
        if connection.server == server {
            _ = local.withLock { $0.removeValue(forKey: connection) }
        }
        // The server's room set keeps the room: reaping an empty room costs nothing, and
        // removing it here would race with another connection of this server entering.
        _ = try await leaveScript.run(
            on: client,
            keys: [RedisKeys.presence(room)],
            arguments: [RedisKeys.presenceField(connection), user.rawValue, channel(of: room), publishCommand]
        )
    }

    public func watch(_ room: RoomID, deliver: @escaping @Sendable (PresenceEvent) -> Void) async throws -> any BrokerSubscription {
        let channel = self.channel(of: room)
        let logger = logger
        let id = try await events.subscribe(to: channel) { payload in
            let text = String(buffer: payload)
            let parts = text.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let kind = PresenceEvent.Kind(rawValue: String(parts[0])) else {
                logger.warning("dropping a payload that is not a presence event", metadata: ["channel": "\(channel)"])
                return
            }
            deliver(PresenceEvent(room: room, user: UserName(trusted: String(parts[1])), kind: kind))
        }
        return Watch(subscriber: events, channel: channel, id: id)
    }

    /// The room's presence channel (a shard channel with ``RedisConfiguration/shardedPubSub``).
    private func channel(of room: RoomID) -> String {
        RedisKeys.presenceChannel(room, database: client.configuration.database, sharded: client.configuration.shardedPubSub)
    }

    private var publishCommand: String { client.configuration.shardedPubSub ? "SPUBLISH" : "PUBLISH" }

    private struct Watch: BrokerSubscription {
        let subscriber: any RedisChannelSubscribing
        let channel: String
        let id: UInt64

        func cancel() async {
            subscriber.unsubscribe(from: channel, id: id)
        }
    }

    public func users(in room: RoomID) async throws -> [UserName] {
        let reply = try await client.command(["HVALS", RedisKeys.presence(room)])
        guard let values = reply.array else { throw RedisError("HVALS returned \(reply)") }
        return Set(values.compactMap(\.string)).map { UserName(trusted: $0) }.sorted()
    }

    /// Removes the server's connections from every partition, one script call per partition.
    public func reap(server: ServerID) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for partition in 0..<RedisKeys.partitions {
                group.addTask { _ = try await self.reap(server, in: partition, onlyIfLeaseExpired: false) }
            }
            try await group.waitForAll()
        }
    }

    /// Takes the lease and starts refreshing it and sweeping the other servers. Throws when
    /// Redis cannot be reached, so a server does not start without a lease.
    public func start() async throws {
        try await refreshLease()
        let task = Task { [settings] in
            // Two loops, so that each keeps its own period exactly (the reap bound relies on it).
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.every(settings.refreshInterval) { try await self.refreshLease() } }
                group.addTask { await self.every(settings.sweepInterval) { try await self.sweep() } }
            }
        }
        maintenance.withLock { $0?.cancel(); $0 = task }
    }

    /// Stops refreshing and sweeping without a goodbye: to Redis this server now looks dead.
    public func stop() {
        maintenance.withLock { $0?.cancel(); $0 = nil }
    }

    /// Stops, then removes this server's users and lease at once rather than after the lease.
    public func shutdown() async {
        stop()
        do {
            try await reap(server: server)
        } catch {
            logger.warning("could not remove this server's presence; survivors reap it when the lease expires", metadata: ["error": "\(error)"])
        }
        await events.shutdown()
    }

    /// Reaps every listed server whose lease has expired in a partition (checked again by the
    /// reap script, atomically). Returns the servers whose connections it removed. (A live
    /// server is also dropped from a partition where it has had no connection for a lease:
    /// nothing to remove, so not reported.)
    @discardableResult
    public func sweep() async throws -> [ServerID] {
        let time = try await client.command(["TIME"]).array ?? []
        guard time.count == 2, let seconds = time[0].string.flatMap({ Int64($0) }), let micros = time[1].string.flatMap({ Int64($0) }) else {
            throw RedisError("TIME returned \(time)")
        }
        let now = seconds * 1_000 + micros / 1_000
        let removed = try await withThrowingTaskGroup(of: [ServerID: Int64].self) { group in
            for partition in 0..<RedisKeys.partitions {
                group.addTask { try await self.sweep(partition, now: now) }
            }
            return try await group.reduce(into: [ServerID: Int64]()) { $0.merge($1, uniquingKeysWith: +) }
        }
        let reaped = removed.filter { $0.value > 0 }
        for (other, connections) in reaped {
            logger.notice("reaped a server whose lease expired", metadata: ["server": "\(other)", "connections": "\(connections)"])
        }
        return reaped.keys.sorted { $0.rawValue < $1.rawValue }
    }

    /// Reaps the partition's servers whose lease there has passed; returns the connections
    /// removed per server.
    private func sweep(_ partition: Int, now: Int64) async throws -> [ServerID: Int64] {
        let reply = try await client.command(["ZRANGE", RedisKeys.presenceServers(partition), "-inf", "(\(now)", "BYSCORE"])
        guard let members = reply.array else { throw RedisError("ZRANGE returned \(reply)") }
        var removed: [ServerID: Int64] = [:]
        for other in members.compactMap(\.string).map(ServerID.init(rawValue:)) where other != server {
            let count = try await reap(other, in: partition, onlyIfLeaseExpired: true)
            if count >= 0 { removed[other, default: 0] += count }
        }
        return removed
    }

    /// Renews the lease in every partition where this server has connections, and announces
    /// again the connections of a partition where survivors reaped it (its lease had expired
    /// there: Redis was unreachable or slow for longer than the lease). Without connections it
    /// still asks Redis (PING), so that ``start()`` fails while Redis is unreachable.
    private func refreshLease() async throws {
        let entries = local.withLock { $0.map { (user: $0.value.user, room: $0.value.room, connection: $0.key) } }
        let partitions = Set(entries.map { RedisKeys.partition(of: $0.room) })
        guard !partitions.isEmpty else {
            try await client.command(["PING"])
            return
        }
        let lost = try await withThrowingTaskGroup(of: Int?.self) { group in
            for partition in partitions {
                group.addTask {
                    let reply = try await self.refreshScript.run(
                        on: self.client, keys: [RedisKeys.presenceServers(partition)],
                        arguments: [self.server.rawValue, String(self.settings.lease.milliseconds)]
                    )
                    return reply.int == 0 ? partition : nil
                }
            }
            return try await group.reduce(into: Set<Int>()) { if let partition = $1 { $0.insert(partition) } }
        }
        let again = entries.filter { lost.contains(RedisKeys.partition(of: $0.room)) }
        guard !again.isEmpty else { return }
        logger.warning("the presence lease had expired; announcing this server's connections again", metadata: ["connections": "\(again.count)"])
        for entry in again {
            try await announce(entry.user, room: entry.room, connection: entry.connection)
        }
    }

    /// One partition's reap: reads the server's room set there, then runs the script with every
    /// room hash declared; retried when the set changed in between.
    private func reap(_ server: ServerID, in partition: Int, onlyIfLeaseExpired: Bool) async throws -> Int64 {
        for _ in 0..<5 {
            let reply = try await client.command(["SMEMBERS", RedisKeys.serverRooms(server, partition: partition)])
            guard let members = reply.array else { throw RedisError("SMEMBERS returned \(reply)") }
            let ids = members.compactMap(\.string)
            let rooms = ids.compactMap { Int64($0) }.map(RoomID.init(rawValue:))
            let result = try await reapScript.run(
                on: client,
                keys: RedisPresenceScripts.reapKeys(server: server, partition: partition, rooms: rooms),
                arguments: [
                    server.rawValue, onlyIfLeaseExpired ? "1" : "0",
                    RedisKeys.presenceChannelPrefix(partition, database: client.configuration.database, sharded: client.configuration.shardedPubSub),
                    publishCommand,
                ] + rooms.map { String($0.rawValue) }
            )
            guard let removed = result.int else { throw RedisError("the reap script returned \(result)") }
            if removed != -2 { return removed }
        }
        throw RedisError("the rooms of server \(server) in presence partition \(partition) kept changing while it was reaped")
    }

    /// Runs `body` every `period` until cancelled; a failure is logged and counted, and the
    /// next period tries again.
    private func every(_ period: Duration, _ body: () async throws -> Void) async {
        while true {
            do {
                try await Task.sleep(for: period)
            } catch {
                return  // cancelled
            }
            do {
                try await body()
            } catch {
                failures.increment()
                logger.warning("presence lease maintenance failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, at least 1 (Redis refuses a PX of 0).
    var milliseconds: Int64 {
        max(1, components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
