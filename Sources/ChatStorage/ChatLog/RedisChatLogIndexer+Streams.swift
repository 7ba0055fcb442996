import ChatCore
import Logging

/// The indexer's work on one stream at a time (a cluster cannot take streams of several slots
/// in one command): figures, claiming a dead consumer's entries, trimming, creating the group.
extension RedisChatLogIndexer {
    /// The streams' length and their oldest pending entry's age, asked of Redis (every
    /// partition's stream and the legacy one).
    public static func figures(on client: any RedisCommandRunning) async throws -> ChatLogFigures {
        let streams = RedisKeys.chatLogs + [RedisKeys.legacyChatLog]
        let parts = try await withThrowingTaskGroup(of: (length: Int64, pending: Int64, oldest: Int64?).self) { group in
            for stream in streams {
                group.addTask { try await figures(of: stream, on: client) }
            }
            return try await group.reduce(into: [(length: Int64, pending: Int64, oldest: Int64?)]()) { $0.append($1) }
        }
        let length = parts.reduce(0) { $0 + $1.length }
        let pending = parts.reduce(0) { $0 + $1.pending }
        guard let oldest = parts.compactMap(\.oldest).min() else {
            return ChatLogFigures(length: length, pending: pending, oldestPendingAge: nil)
        }
        let time = try await client.command(["TIME"]).array ?? []
        let now = (time.first?.int ?? 0) * 1_000 + (time.count > 1 ? (time[1].int ?? 0) / 1_000 : 0)
        return ChatLogFigures(length: length, pending: pending, oldestPendingAge: .milliseconds(max(0, now - oldest)))
    }

    /// One stream's length, pending count and oldest pending entry's time (ms).
    private static func figures(of stream: String, on client: any RedisCommandRunning) async throws -> (length: Int64, pending: Int64, oldest: Int64?) {
        let length = try await client.command(["XLEN", stream]).int ?? 0
        let summary: RESPValue
        do {
            summary = try await client.command(["XPENDING", stream, RedisKeys.chatLogGroup])
        } catch let error as RedisError where error.code == "NOGROUP" {
            return (length, 0, nil)
        }
        let fields = summary.array ?? []
        let pending = fields.first?.int ?? 0
        guard pending > 0, fields.count > 1, let oldest = fields[1].string.flatMap(Self.milliseconds(ofID:)) else { return (length, pending, nil) }
        return (length, pending, oldest)
    }

    /// Moves entries of `stream` pending with any consumer for longer than the claim timeout to
    /// `consumer`; it reads them as its own pending entries next. Returns whether it claimed any.
    func claimStale(_ stream: String, on client: any RedisCommandRunning, as consumer: String) async throws -> Bool {
        var cursor = "0-0"
        var any = false
        for _ in 0..<100 {  // bounded: a huge backlog is claimed over several rounds
            let reply = try await client.command([
                "XAUTOCLAIM", stream, RedisKeys.chatLogGroup, consumer,
                String(Self.milliseconds(settings.claimAfter)), cursor, "COUNT", String(settings.batchSize), "JUSTID",
            ])
            guard let fields = reply.array, fields.count >= 2, let next = fields[0].string else { return any }
            let claimed = fields[1].array?.count ?? 0
            if claimed > 0 {
                any = true
                metrics.countClaimed(claimed)
                logger.notice("chat log: claimed entries another indexer left pending", metadata: ["count": "\(claimed)", "stream": "\(stream)"])
            }
            if next == "0-0" { return any }
            cursor = next
        }
        return any
    }

    /// Trims what every consumer acknowledged from `stream`: below the oldest pending entry and
    /// at most up to the group's last delivered entry (anything later was never read). Returns
    /// whether the stream is drained: empty, nothing pending.
    @discardableResult
    func trimAcknowledged(_ stream: String, on client: any RedisCommandRunning) async throws -> Bool {
        let groups = try await client.command(["XINFO", "GROUPS", stream]).array ?? []
        var lastDelivered: String?
        for group in groups {
            let fields = group.array ?? []
            var name: String?
            var delivered: String?
            for index in stride(from: 0, to: fields.count - 1, by: 2) {
                if fields[index].string == "name" { name = fields[index + 1].string }
                if fields[index].string == "last-delivered-id" { delivered = fields[index + 1].string }
            }
            if name == RedisKeys.chatLogGroup { lastDelivered = delivered }
        }
        let summary = try await client.command(["XPENDING", stream, RedisKeys.chatLogGroup]).array ?? []
        let pending = summary.first?.int ?? 0
        guard var floor = lastDelivered, floor != "0-0" else { return false }
        if pending > 0, summary.count > 1, let oldest = summary[1].string, Self.id(oldest, isBelow: floor) {
            floor = oldest
        }
        _ = try await client.command(["XTRIM", stream, "MINID", "~", floor])
        if pending > 0 { return false }
        // MINID ~ trims whole nodes only: the exact check is whether anything is left past the floor.
        let rest = try await client.command(["XRANGE", stream, "(\(floor)", "+", "COUNT", "1"]).array ?? []
        return rest.isEmpty
    }

    /// Creates the group on each stream (from its start: entries written before any indexer ran
    /// are indexed too). Returns the streams to read: the legacy stream only if it exists.
    static func createGroups(_ streams: [String], on client: any RedisCommandRunning) async throws -> [String] {
        var ready: [String] = []
        for stream in streams {
            let legacy = stream == RedisKeys.legacyChatLog
            if legacy, try await client.command(["EXISTS", stream]).int != 1 { continue }
            do {
                _ = try await client.command(["XGROUP", "CREATE", stream, RedisKeys.chatLogGroup, "0"] + (legacy ? [] : ["MKSTREAM"]))
            } catch let error as RedisError where error.code == "BUSYGROUP" {
                // Another chatd created it (or, on the legacy stream, the chatd of before).
            }
            ready.append(stream)
        }
        return ready
    }

    static func entry(_ value: RESPValue) -> Entry? {
        guard let parts = value.array, let id = parts.first?.string else { return nil }
        guard parts.count > 1, let fields = parts[1].array else { return Entry(id: id, message: nil) }  // trimmed while pending
        var index = 0
        while index + 1 < fields.count {
            if fields[index].string == "message", case .bulkString(let payload) = fields[index + 1] {
                return Entry(id: id, message: try? RedisMessageCodec.decode(payload))
            }
            index += 2
        }
        return Entry(id: id, message: nil)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// The millisecond part of a stream id (`1700000000000-3`).
    static func milliseconds(ofID id: String) -> Int64? {
        Int64(id.prefix { $0 != "-" })
    }

    private static func id(_ left: String, isBelow right: String) -> Bool {
        func parts(_ id: String) -> (Int64, Int64) {
            let split = id.split(separator: "-")
            return (Int64(split.first ?? "") ?? 0, split.count > 1 ? Int64(split[1]) ?? 0 : 0)
        }
        return parts(left) < parts(right)
    }
}
