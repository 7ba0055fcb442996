import Foundation
import Histogram

/// Every figure of a `rooms` run.
struct RoomsReport: BenchReport {
    let scenario = "rooms"
    let urls: [String]
    let rooms: Int
    let members: Int
    let ratePerRoom: Double
    let totalRate: Double
    let warmup: Double
    let duration: Double
    let messageBytes: Int
    /// From the start of the measured window to the last delivery.
    let deliverySeconds: Double
    let wallSeconds: Double
    let messagesPublished: UInt64
    let expectedDeliveries: UInt64
    /// Deliveries of the measured window, repeats included.
    let deliveries: UInt64
    let deliveriesPerSecond: Double
    /// Expected deliveries that did not arrive (a repeat does not make up for one).
    let lost: UInt64
    /// A message a member got twice in a row (same room `seq`).
    let duplicated: UInt64
    /// A message whose room `seq` was below the one before it at the same member.
    let outOfOrder: UInt64
    let warmupDeliveries: UInt64
    let unparsedFrames: UInt64
    let closedByServer: UInt64
    let roomsWithDeliveries: Int
    /// Rooms whose members got fewer deliveries than their publisher's messages times members.
    let roomsShort: Int
    let latencyMs: LatencyFigures
    /// The bulk joins before publishing (--connect-concurrency in flight).
    let join: JoinCost
    /// One join at a time after the run, into rooms of their own (``JoinSampler``); nil with --join-samples 0.
    let joinUnloaded: JoinCost?
    let servers: [Server]
    let redis: RedisUsage?
    let client: ClientUsage
    let server: ServerCPU?
    let serverPlusClient: WholeMachineCPU?

    /// One server: where members were placed, and what its /metrics says (with --admin-url).
    struct Server: Encodable {
        let url: String
        let adminURL: String?
        /// Members placed on it, and the rooms they are in: the subscriptions it should hold.
        let members: Int
        let roomsWithMembers: Int
        let metrics: ServerMetrics?

        enum CodingKeys: String, CodingKey {
            case url, adminURL = "admin_url", members, roomsWithMembers = "rooms_with_members", connections, roomsActive = "rooms_active"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(url, forKey: .url)
            try container.encode(adminURL, forKey: .adminURL)
            try container.encode(members, forKey: .members)
            try container.encode(roomsWithMembers, forKey: .roomsWithMembers)
            try container.encode(metrics?.connections, forKey: .connections)
            try container.encode(metrics?.roomsActive, forKey: .roomsActive)
        }
    }

    /// What a join costs, from before the TCP connect to the echo of the member's own probe
    /// (enter, subscribe, history, publish, fan-out): a room's first member on a server (the
    /// server subscribes) beside later ones (the subscription is there).
    struct JoinCost: Encodable {
        let firstOnServerMs: LatencyFigures
        let laterMs: LatencyFigures
        /// First p50 minus later p50: what the subscription adds; nil without both kinds.
        let subscriptionMsP50: Double?

        init(firstOnServer: Histogram<UInt64>, later: Histogram<UInt64>) {
            firstOnServerMs = LatencyFigures(microseconds: firstOnServer)
            laterMs = LatencyFigures(microseconds: later)
            subscriptionMsP50 = firstOnServerMs.count > 0 && laterMs.count > 0 ? firstOnServerMs.p50 - laterMs.p50 : nil
        }

        enum CodingKeys: String, CodingKey {
            case firstOnServerMs = "first_on_server_ms", laterMs = "later_ms", subscriptionMsP50 = "subscription_ms_p50"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(firstOnServerMs, forKey: .firstOnServerMs)
            try container.encode(laterMs, forKey: .laterMs)
            try container.encode(subscriptionMsP50, forKey: .subscriptionMsP50)
        }
    }

    /// Redis's own CPU over the window (INFO cpu, every --redis-url summed).
    struct RedisUsage: Encodable {
        let urls: [String]
        let cpuUserSeconds: Double
        let cpuSystemSeconds: Double
        let cpuSeconds: Double
        let coresBusy: Double
        /// Microseconds of Redis CPU per message published; nil when none was.
        let microsecondsPerMessage: Double?

        enum CodingKeys: String, CodingKey {
            case urls, cpuUserSeconds = "cpu_user_seconds", cpuSystemSeconds = "cpu_system_seconds", cpuSeconds = "cpu_seconds"
            case coresBusy = "cores_busy", microsecondsPerMessage = "us_per_message"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(urls, forKey: .urls)
            try container.encode(cpuUserSeconds, forKey: .cpuUserSeconds)
            try container.encode(cpuSystemSeconds, forKey: .cpuSystemSeconds)
            try container.encode(cpuSeconds, forKey: .cpuSeconds)
            try container.encode(coresBusy, forKey: .coresBusy)
            try container.encode(microsecondsPerMessage, forKey: .microsecondsPerMessage)
        }
    }

    enum CodingKeys: String, CodingKey {
        case scenario, urls, rooms, members, ratePerRoom = "rate_per_room", totalRate = "total_rate", warmup, duration
        case messageBytes = "message_bytes", deliverySeconds = "delivery_seconds", wallSeconds = "wall_seconds"
        case messagesPublished = "messages_published", expectedDeliveries = "expected_deliveries", deliveries
        case deliveriesPerSecond = "deliveries_per_second", lost, duplicated, outOfOrder = "out_of_order"
        case warmupDeliveries = "warmup_deliveries", unparsedFrames = "unparsed_frames", closedByServer = "closed_by_server"
        case roomsWithDeliveries = "rooms_with_deliveries", roomsShort = "rooms_short", latencyMs = "latency_ms", join, joinUnloaded = "join_unloaded", servers, redis
        case client, server, serverPlusClient = "server_plus_client"
    }

    init(
        urls: [String], rooms: Int, members: Int, ratePerRoom: Double, warmup: Double, duration: Double, messageBytes: Int,
        deliverySeconds: Double, wallSeconds: Double, counts: LoopStats.Snapshot, publishedByRoom: [UInt64], receivedByRoom: [UInt64],
        servers: [Server], client: ClientUsage, serverCPU: (pids: [Int32], cpu: CPUTime)?, redisCPU: (urls: [String], cpu: CPUTime)?,
        unloadedJoins: JoinSampler.Figures? = nil
    ) {
        self.urls = urls
        self.rooms = rooms
        self.members = members
        self.ratePerRoom = ratePerRoom
        totalRate = ratePerRoom * Double(rooms)
        self.warmup = warmup
        self.duration = duration
        self.messageBytes = messageBytes
        self.deliverySeconds = deliverySeconds
        self.wallSeconds = wallSeconds
        messagesPublished = counts.totalPublished
        let expected = counts.totalPublished * UInt64(members)
        expectedDeliveries = expected
        deliveries = counts.received
        deliveriesPerSecond = deliverySeconds > 0 ? Double(counts.received) / deliverySeconds : 0
        let distinct = counts.received > counts.repeated ? counts.received - counts.repeated : 0
        lost = expected > distinct ? expected - distinct : 0
        duplicated = counts.repeated
        outOfOrder = counts.outOfOrder
        warmupDeliveries = counts.warmupReceived
        unparsedFrames = counts.unparsed
        closedByServer = counts.closedByServer
        roomsWithDeliveries = receivedByRoom.filter { $0 > 0 }.count
        roomsShort = zip(publishedByRoom, receivedByRoom).filter { published, received in received < published * UInt64(members) }.count
        latencyMs = LatencyFigures(microseconds: counts.latency)
        join = JoinCost(firstOnServer: counts.firstJoinLatency, later: counts.laterJoinLatency)
        joinUnloaded = unloadedJoins.map { JoinCost(firstOnServer: $0.firstOnServer, later: $0.later) }
        self.servers = servers
        redis = redisCPU.map { usage in
            RedisUsage(
                urls: usage.urls, cpuUserSeconds: usage.cpu.user, cpuSystemSeconds: usage.cpu.system, cpuSeconds: usage.cpu.total,
                coresBusy: wallSeconds > 0 ? usage.cpu.total / wallSeconds : 0,
                microsecondsPerMessage: counts.totalPublished > 0 ? usage.cpu.total * 1e6 / Double(counts.totalPublished) : nil)
        }
        self.client = client
        server = serverCPU.map { ServerCPU(pids: $0.pids, cpu: $0.cpu, wallSeconds: wallSeconds, deliveries: counts.received) }
        serverPlusClient = serverCPU.map { WholeMachineCPU(server: $0.cpu, client: CPUTime(user: client.cpuUserSeconds, system: client.cpuSystemSeconds), deliveries: counts.received) }
    }

    var summary: String {
        var lines = [
            "rooms against \(urls.joined(separator: ", ")): \(rooms) rooms x \(members) members, one publisher each at \(significant(ratePerRoom)) msg/s (\(significant(totalRate)) in all) for \(format(duration)) s after \(format(warmup)) s of warm-up, \(messageBytes)-byte texts",
            "  published     \(messagesPublished) messages, \(expectedDeliveries) deliveries expected",
            "  delivered     \(deliveries) (\(significant(deliveriesPerSecond)) per second over \(format(deliverySeconds, 2)) s); \(roomsWithDeliveries) of \(rooms) rooms got deliveries, \(roomsShort) short",
            "  lost          \(lost)   duplicated \(duplicated)   out of order \(outOfOrder)",
            "  latency ms    \(latencyMs.line)",
            "  join ms       first on its server \(join.firstOnServerMs.line)",
            "                later               \(join.laterMs.line)",
        ]
        if let joinUnloaded {
            lines.append("  one at a time first on its server \(joinUnloaded.firstOnServerMs.line)")
            lines.append("                later               \(joinUnloaded.laterMs.line)")
        }
        for server in servers {
            let metrics = server.metrics.map { "; its /metrics: \($0.connections) connections, \($0.roomsActive) rooms subscribed" } ?? ""
            lines.append("  server        \(server.url): \(server.members) members in \(server.roomsWithMembers) rooms\(metrics)")
        }
        if let redis {
            lines.append(
                "  redis         \(significant(redis.cpuSeconds)) CPU s (user \(significant(redis.cpuUserSeconds)), system \(significant(redis.cpuSystemSeconds))), \(significant(redis.coresBusy)) cores busy\(redis.microsecondsPerMessage.map { ", \(significant($0)) us per message" } ?? "")")
        }
        lines.append(
            "  chat-bench    \(significant(client.cpuSeconds)) CPU s (user \(significant(client.cpuUserSeconds)), system \(significant(client.cpuSystemSeconds))) over \(format(wallSeconds, 1)) s: \(significant(client.coresBusy)) of \(client.machineCores) cores")
        if let server {
            lines.append("  servers       \(significant(server.cpuSeconds)) CPU s (user \(significant(server.cpuUserSeconds))), \(significant(server.coresBusy)) cores busy")
        }
        if let serverPlusClient { lines.append("  \(serverPlusClient.line)") }
        if closedByServer > 0 { lines.append("  closed        \(closedByServer) connections closed by the server") }
        return lines.joined(separator: "\n")
    }
}
