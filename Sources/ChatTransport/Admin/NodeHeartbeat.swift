import ChatCore
import Foundation
import Logging
import NIOWebSocket

/// This server's entry in the node list: written to ``ClusterControl`` every interval (with a
/// TTL of three), withdrawn on shutdown; and the listener that carries out the admin commands
/// other servers broadcast.
final class NodeHeartbeat: Sendable {
    let server: ServerID
    private let address: @Sendable () async -> String
    private let connections: LocalConnections
    private let version: String
    private let startedAt = Int64(Date().timeIntervalSince1970 * 1_000)

    init(server: ServerID, address: @escaping @Sendable () async -> String, connections: LocalConnections, version: String) {
        self.server = server
        self.address = address
        self.connections = connections
        self.version = version
    }

    /// Connections per user per room on this server, keyed as in ``NodeStatus/presence``.
    func localPresence() -> [String: [String: Int]] {
        var presence: [String: [String: Int]] = [:]
        for (room, users) in connections.snapshot() {
            presence[String(room.rawValue)] = Dictionary(uniqueKeysWithValues: users.map { ($0.key.rawValue, $0.value) })
        }
        return presence
    }

    func status(now: Int64) async -> NodeStatus {
        NodeStatus(
            id: server.rawValue, address: await address(), connections: connections.count, startedAt: startedAt, lastSeen: now,
            version: version, presence: localPresence()
        )
    }

    /// Beats until cancelled, then withdraws; failures are logged and retried next beat.
    func run(on cluster: any ClusterControl, every interval: Duration, logger: Logger) async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await cluster.beat(await status(now: Int64(Date().timeIntervalSince1970 * 1_000)), ttl: interval * 3)
                if failing { logger.info("node heartbeat written again") }
                failing = false
            } catch {
                if !failing { logger.warning("cannot write this node's heartbeat", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await Task.sleep(for: interval)
        }
        try? await cluster.withdraw(server)
    }

    /// Carries out the commands every server is sent.
    func listen(on cluster: any ClusterControl, logger: Logger) async throws -> any BrokerSubscription {
        let connections = connections
        return try await cluster.listen { command in
            switch command {
            case .disconnect(let user, let code, let reason):
                guard let name = UserName(rawValue: user) else { return }
                let closed = connections.disconnect(name, code: WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
                if closed > 0 {
                    logger.notice("admin disconnect", metadata: ["user": "\(user)", "code": "\(code)", "connections": "\(closed)"])
                }
            }
        }
    }
}
