/// The lease that lets survivors remove a dead server's users.
///
/// A server that stops refreshing (crashed, frozen, cut off) loses its lease after ``lease``;
/// the next sweep on any other server then removes its connections. So its users vanish within
/// `lease + sweepInterval` (15 s with the defaults, under the 30 s the design allows): chatd's
/// `--presence-lease` sets the lease, and the other two periods follow it.
public struct RedisPresenceSettings: Sendable {
    /// How long a server's lease lasts after its last renewal (its score in each presence
    /// partition's server set, ``RedisKeys/presenceServers(_:)``).
    public var lease: Duration
    /// How often the lease is renewed: a third of the lease, so two refreshes may be lost
    /// (a slow Redis, a long GC-like pause) before the server is taken for dead.
    public var refreshInterval: Duration
    /// How often this server checks the other servers' leases.
    public var sweepInterval: Duration

    /// By default the refresh runs every third and the sweep every half of the lease.
    public init(lease: Duration = .seconds(10), refreshInterval: Duration? = nil, sweepInterval: Duration? = nil) {
        precondition(lease >= .milliseconds(10), "a lease shorter than 10 ms cannot be refreshed in time")
        self.lease = lease
        self.refreshInterval = refreshInterval ?? lease / 3
        self.sweepInterval = sweepInterval ?? lease / 2
    }

    /// The longest a dead server's users stay listed.
    public var reapBound: Duration { lease + sweepInterval }
}
