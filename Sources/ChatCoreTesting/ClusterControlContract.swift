import ChatCore
import Synchronization

/// What every ``ClusterControl`` must do. Each case gets two handles on one cluster (two
/// servers on one Redis; in memory, one object twice).
public enum ClusterControlContract {
    public struct Fixture: Sendable {
        public let first: any ClusterControl
        public let second: any ClusterControl

        public init(first: any ClusterControl, second: any ClusterControl) {
            self.first = first
            self.second = second
        }
    }

    static func status(_ server: ServerID, connections: Int = 1, presence: [String: [String: Int]] = [:]) -> NodeStatus {
        NodeStatus(
            id: server.rawValue, address: "127.0.0.1:1", connections: connections, startedAt: 1, lastSeen: 2, version: "test",
            presence: presence
        )
    }

    public static let cases: [ContractCase<Fixture>] = [
        ContractCase("a beat is listed by every server, once, with what it said") { cluster in
            let server = Unique.server()
            try await cluster.first.beat(status(server, connections: 1), ttl: .seconds(30))
            try await cluster.first.beat(status(server, connections: 3, presence: ["7": ["bob": 2]]), ttl: .seconds(30))
            let listed = try await cluster.second.nodes().filter { $0.id == server.rawValue }
            try expectEqual(listed, [status(server, connections: 3, presence: ["7": ["bob": 2]])], "the latest beat")
        },
        ContractCase("nodes are sorted by id") { cluster in
            let a = Unique.server()
            let b = Unique.server()
            try await cluster.first.beat(status(a), ttl: .seconds(30))
            try await cluster.second.beat(status(b), ttl: .seconds(30))
            let ids = try await cluster.first.nodes().map(\.id)
            try expect(ids.contains(a.rawValue) && ids.contains(b.rawValue), "both listed: \(ids)")
            try expectEqual(ids, ids.sorted(), "order")
        },
        ContractCase("a heartbeat expires after its ttl; withdraw removes it at once") { cluster in
            let fading = Unique.server()
            let leaving = Unique.server()
            try await cluster.first.beat(status(fading), ttl: .milliseconds(200))
            try await cluster.first.beat(status(leaving), ttl: .seconds(30))
            try await cluster.first.withdraw(leaving)
            try expect(!(try await cluster.second.nodes().contains { $0.id == leaving.rawValue }), "withdrawn")
            try await Task.sleep(for: .milliseconds(400))
            try expect(!(try await cluster.second.nodes().contains { $0.id == fading.rawValue }), "expired")
        },
        ContractCase("a broadcast reaches every listener of every server once, and none after cancel") { cluster in
            let heard = Mutex<[String: [ControlCommand]]>([:])
            let here = try await cluster.first.listen { command in heard.withLock { $0["first", default: []].append(command) } }
            let there = try await cluster.second.listen { command in heard.withLock { $0["second", default: []].append(command) } }
            let user = Unique.user().rawValue
            let command = ControlCommand.disconnect(user: user, code: 4000, reason: "bye")
            try await cluster.first.broadcast(command)
            try await eventually { heard.withLock { $0["first"] == [command] && $0["second"] == [command] } }
            await there.cancel()
            let later = ControlCommand.disconnect(user: user, code: 4001, reason: "again")
            try await cluster.second.broadcast(later)
            try await eventually { heard.withLock { $0["first"] == [command, later] } }
            await here.cancel()
            try expectEqual(heard.withLock { $0["second"] ?? [] }, [command], "the cancelled listener")
        },
    ]

    /// Waits up to 5 s for `condition`.
    static func eventually(_ condition: @Sendable () -> Bool, file: StaticString = #fileID, line: UInt = #line) async throws {
        for _ in 0..<500 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        try expect(condition(), "not within 5 s", file: file, line: line)
    }
}
