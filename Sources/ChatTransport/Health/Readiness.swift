import Synchronization

/// Whether this server should be sent new joins: every configured backend answers a ping, and
/// the server is not draining (docs/operations.md, "Health and readiness").
///
/// Probes run with a short deadline and their verdict is kept for ``cacheFor``, so probes of a
/// load balancer (or many) cannot load the backends: at most one ping per backend per second.
public final class Readiness: Sendable {
    /// Asks one backend whether it answers; throws when it does not.
    public typealias Probe = @Sendable () async throws -> Void

    /// The verdict: each configured backend up or down, and whether the server drains.
    public struct Report: Sendable, Equatable {
        public var backends: [String: Bool]
        public var draining: Bool

        public var isReady: Bool { !draining && backends.values.allSatisfy { $0 } }
    }

    private struct Cached {
        var backends: [String: Bool]
        var at: ContinuousClock.Instant
    }

    private let probes: [String: Probe]
    private let deadline: Duration
    private let cacheFor: Duration
    private let draining = Atomic<Bool>(false)
    private let cached = Mutex<Cached?>(nil)

    /// `probes` by backend name (`redis`, `mariadb`, `elasticsearch`); none: the in-memory default.
    public init(probes: [String: Probe] = [:], deadline: Duration = .milliseconds(500), cacheFor: Duration = .seconds(1)) {
        self.probes = probes
        self.deadline = deadline
        self.cacheFor = cacheFor
    }

    /// From now on the server reports `draining` (graceful shutdown has begun).
    public func startDraining() { draining.store(true, ordering: .relaxed) }

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// The current verdict, from the cache when it is fresh.
    public func report() async -> Report {
        let now = ContinuousClock.now
        if let cached = cached.withLock({ $0 }), now - cached.at < cacheFor {
            return Report(backends: cached.backends, draining: isDraining)
        }
        var backends: [String: Bool] = [:]
        await withTaskGroup(of: (String, Bool).self) { group in
            for (name, probe) in probes {
                group.addTask { (name, await Self.answers(probe, within: self.deadline)) }
            }
            for await (name, up) in group { backends[name] = up }
        }
        cached.withLock { $0 = Cached(backends: backends, at: now) }
        return Report(backends: backends, draining: isDraining)
    }

    /// Whether `probe` succeeds before `deadline`.
    private static func answers(_ probe: @escaping Probe, within deadline: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await probe()) != nil }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
