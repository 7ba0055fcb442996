import Foundation

/// A Redis Cluster of one test's own (scripts/services/redis-cluster.sh: 3 masters with a
/// replica each, node timeout 1 s) on CHAT_TEST_REDIS_CLUSTER_FAILOVER_PORT (7111 to 7116 by
/// default), for tests that kill its nodes. The port range is one, so such tests take turns
/// (``run(_:)``), in whichever test target they are.
public struct OwnCluster: Sendable {
    public let directory: URL
    public let port: Int
    private var environment: [String: String] { ["REDIS_CLUSTER_PORT": String(port), "REDIS_CLUSTER_NODE_TIMEOUT": "1000"] }
    private var log: URL { directory.appendingPathExtension("log") }

    /// Seeds: the first three nodes (masters when it starts).
    public var url: String { "redis+cluster://127.0.0.1:\(port),127.0.0.1:\(port + 1),127.0.0.1:\(port + 2)" }

    /// Starts a cluster, runs `body` on it, and stops it, one test at a time.
    public static func run<T: Sendable>(_ body: @Sendable (OwnCluster) async throws -> T) async throws -> T {
        await turns.acquire()
        let port = Int(ProcessInfo.processInfo.environment["CHAT_TEST_REDIS_CLUSTER_FAILOVER_PORT"] ?? "") ?? 7111
        let cluster = OwnCluster(directory: FileManager.default.temporaryDirectory.appendingPathComponent("chat-cluster-\(UUID().uuidString)"), port: port)
        do {
            try await ServiceScript.run("redis-cluster.sh", ["start", cluster.directory.path], environment: cluster.environment, log: cluster.log)
            let result = try await body(cluster)
            await cluster.stop()
            await turns.release()
            return result
        } catch {
            await cluster.stop()
            await turns.release()
            throw error
        }
    }

    /// SIGKILLs the node on `port`.
    public func kill(_ port: Int) throws {
        let text = try String(contentsOf: directory.appendingPathComponent("\(port)/redis.pid"), encoding: .utf8)
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ServiceScript.Failed(description: "no pid of the cluster node on \(port)")
        }
        _ = Foundation.kill(pid, SIGKILL)
    }

    private func stop() async {
        try? await ServiceScript.run("redis-cluster.sh", ["stop", directory.path], environment: environment, log: log)
        try? FileManager.default.removeItem(at: directory)
        try? FileManager.default.removeItem(at: log)
    }

    private static let turns = Turns()

    /// One holder at a time, the others wait in order.
    private actor Turns {
        private var busy = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func acquire() async {
            if !busy {
                busy = true
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func release() {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
    }
}
