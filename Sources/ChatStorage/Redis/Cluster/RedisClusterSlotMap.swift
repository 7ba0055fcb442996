/// Which master serves each of the 16384 slots, read from `CLUSTER SHARDS` (Redis 7) and
/// corrected slot by slot by MOVED redirects in between.
public struct RedisClusterSlotMap: Sendable, Equatable {
    /// Index into ``masters`` per slot; -1: no master covers the slot.
    private var owners: [Int16]
    /// Every master, in the order the reply listed them.
    public private(set) var masters: [BackendEndpoint.Address]
    /// Every other node (replicas), where the map can be read again when masters are gone.
    public private(set) var replicas: [BackendEndpoint.Address]

    public init() {
        owners = Array(repeating: -1, count: RedisClusterSlot.count)
        masters = []
        replicas = []
    }

    /// The master that serves `slot`, if one is known.
    public func master(of slot: Int) -> BackendEndpoint.Address? {
        let index = owners[slot]
        return index < 0 ? nil : masters[Int(index)]
    }

    /// Whether every slot has a master.
    public var coversEverySlot: Bool { !owners.contains(-1) }

    /// What a MOVED redirect says: `slot` is now served by `master`.
    public mutating func move(slot: Int, to master: BackendEndpoint.Address) {
        owners[slot] = Int16(index(of: master))
    }

    private mutating func index(of master: BackendEndpoint.Address) -> Int {
        if let known = masters.firstIndex(of: master) { return known }
        masters.append(master)
        replicas.removeAll { $0 == master }
        return masters.count - 1
    }

    /// Reads a `CLUSTER SHARDS` reply (RESP2: each shard a flat list `slots [start end …]
    /// nodes [[id … port … ip … endpoint … role … health …] …]`). Of each shard the master that
    /// is `online` serves its slots (a failed one may still be listed as master right after a
    /// failover); a node's address is its `endpoint` (its `ip` when the endpoint is unknown, `?`,
    /// and `answeredBy`'s host when both are), its port `tls-port` when `tls`.
    public init(shards reply: RESPValue, tls: Bool, answeredBy: BackendEndpoint.Address) throws(RedisError) {
        self.init()
        guard let shards = reply.array else { throw RedisError("CLUSTER SHARDS returned \(reply)") }
        for shard in shards {
            let fields = try Self.fields(shard)
            guard let ranges = fields["slots"]?.array, let nodes = fields["nodes"]?.array, ranges.count % 2 == 0 else {
                throw RedisError("malformed shard in CLUSTER SHARDS: \(shard)")
            }
            var master: BackendEndpoint.Address?
            var masterOnline = false
            for node in nodes {
                let node = try Self.fields(node)
                let port = tls ? node["tls-port"]?.int : node["port"]?.int
                guard let port, port > 0 else { continue }
                var host = node["endpoint"]?.string ?? ""
                if host.isEmpty || host == "?" { host = node["ip"]?.string ?? "" }
                if host.isEmpty || host == "?" { host = answeredBy.host }
                let address = BackendEndpoint.Address(host: host, port: Int(port))
                let online = node["health"]?.string.map { $0 == "online" } ?? true
                if node["role"]?.string == "master", master == nil || (online && !masterOnline) {
                    if let replaced = master, !replicas.contains(replaced) { replicas.append(replaced) }
                    master = address
                    masterOnline = online
                } else if !replicas.contains(address) {
                    replicas.append(address)
                }
            }
            guard let master, !ranges.isEmpty else { continue }
            let index = index(of: master)
            var position = 0
            while position + 1 < ranges.count {
                guard let start = ranges[position].int, let end = ranges[position + 1].int,
                    0 <= start, start <= end, end < RedisClusterSlot.count
                else { throw RedisError("malformed slot range in CLUSTER SHARDS: \(ranges)") }
                for slot in Int(start)...Int(end) { owners[slot] = Int16(index) }
                position += 2
            }
        }
        replicas.removeAll { masters.contains($0) }
    }

    /// A flat `key value key value …` list as a dictionary.
    private static func fields(_ value: RESPValue) throws(RedisError) -> [String: RESPValue] {
        guard let list = value.array, list.count % 2 == 0 else { throw RedisError("malformed entry in CLUSTER SHARDS: \(value)") }
        var fields: [String: RESPValue] = [:]
        var index = 0
        while index + 1 < list.count {
            if let key = list[index].string { fields[key] = list[index + 1] }
            index += 2
        }
        return fields
    }
}
