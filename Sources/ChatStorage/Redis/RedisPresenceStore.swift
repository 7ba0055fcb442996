import ChatCore
import Logging
import Metrics
import NIOCore
import Synchronization

/// Presence across servers: per-room hashes from connection to user, and a lease per server.
///
/// Each server keeps `chatd:server:{id}` alive while it runs (``start()``); every server sweeps
/// the servers listed as holding presence and reaps those whose lease expired, so a crashed
/// server's users disappear within ``RedisPresenceSettings/reapBound``. A server that stops
/// cleanly reaps itself at once (``shutdown()``).
public final class RedisPresenceStore: PresenceStore {
    public let server: ServerID
    public let settings: RedisPresenceSettings
    private let client: RedisClient
    private let logger: Logger
    private let enterScript = RedisScript(RedisPresenceScripts.enter)
    private let leaveScript = RedisScript(RedisPresenceScripts.leave)
    private let reapScript = RedisScript(RedisPresenceScripts.reap)
    /// Presence events arrive over Pub/Sub: a connection of their own, made at the first watch.
    private let events: RedisSubscriber
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
        client: RedisClient, server: ServerID, settings: RedisPresenceSettings = .init(), metrics: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.client = client
        self.server = server
        self.settings = settings
        self.logger = logger
        self.events = RedisSubscriber(configuration: client.configuration, logger: logger, metrics: metrics)
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
            keys: [RedisKeys.presence(room), RedisKeys.serverRooms(connection.server), RedisKeys.presenceServers],
            arguments: [
                RedisKeys.presenceField(connection), user.rawValue, String(room.rawValue), connection.server.rawValue,
                RedisKeys.presenceChannel(room, database: client.configuration.database),
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
            arguments: [RedisKeys.presenceField(connection), user.rawValue, RedisKeys.presenceChannel(room, database: client.configuration.database)]
        )
    }

    public func watch(_ room: RoomID, deliver: @escaping @Sendable (PresenceEvent) -> Void) async throws -> any BrokerSubscription {
        let channel = RedisKeys.presenceChannel(room, database: client.configuration.database)
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

    private struct Watch: BrokerSubscription {
        let subscriber: RedisSubscriber
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

    public func reap(server: ServerID) async throws {
        _ = try await reap(server, onlyIfLeaseExpired: false)
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
            try await client.command(["DEL", RedisKeys.lease(server)])
        } catch {
            logger.warning("could not remove this server's presence; survivors reap it when the lease expires", metadata: ["error": "\(error)"])
        }
        await events.shutdown()
    }

    /// Reaps every listed server whose lease has expired. Returns the servers reaped.
    @discardableResult
    public func sweep() async throws -> [ServerID] {
        let reply = try await client.command(["SMEMBERS", RedisKeys.presenceServers])
        guard let members = reply.array else { throw RedisError("SMEMBERS returned \(reply)") }
        var reaped: [ServerID] = []
        for other in members.compactMap(\.string).map(ServerID.init(rawValue:)) where other != server {
            let removed = try await reap(other, onlyIfLeaseExpired: true)
            if removed >= 0 {
                reaped.append(other)
                logger.notice("reaped a server whose lease expired", metadata: ["server": "\(other)", "connections": "\(removed)"])
            }
        }
        return reaped
    }

    private func refreshLease() async throws {
        let previous = try await client.command(["SET", RedisKeys.lease(server), "1", "PX", String(settings.lease.milliseconds), "GET"])
        guard previous.isNull else { return }
        // No lease before this refresh: either the first one, or this server was taken for dead
        // (Redis unreachable or restarted for longer than the lease) and possibly reaped.
        let entries = local.withLock { $0.map { (user: $0.value.user, room: $0.value.room, connection: $0.key) } }
        guard !entries.isEmpty else { return }
        logger.warning("the presence lease had expired; announcing this server's connections again", metadata: ["connections": "\(entries.count)"])
        for entry in entries {
            try await announce(entry.user, room: entry.room, connection: entry.connection)
        }
    }

    private func reap(_ server: ServerID, onlyIfLeaseExpired: Bool) async throws -> Int64 {
        let reply = try await reapScript.run(
            on: client,
            keys: [RedisKeys.serverRooms(server), RedisKeys.presenceServers, RedisKeys.lease(server)],
            arguments: [server.rawValue, onlyIfLeaseExpired ? "1" : "0", RedisKeys.presenceRoomPrefix, RedisKeys.presenceChannelPrefix(client.configuration.database)]
        )
        guard let removed = reply.int else { throw RedisError("the reap script returned \(reply)") }
        return removed
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
