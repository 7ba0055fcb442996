import Foundation

/// Every figure of a `fanout`, `cross-server` or one half of a `deflate` run.
struct FanoutReport: BenchReport {
    let scenario: String
    let urls: [String]
    let rooms: Int
    let members: Int
    let publishers: Int
    let alignedPublishers: Bool
    let rate: Double
    let duration: Double
    let messageBytes: Int
    let deflateOffered: Bool
    let publishSeconds: Double
    /// From the first message sent to the last one received.
    let deliverySeconds: Double
    let wallSeconds: Double
    let messagesPublished: UInt64
    let expectedDeliveries: UInt64
    let deliveries: UInt64
    let deliveriesPerSecond: Double
    let lost: UInt64
    let unexpected: UInt64
    let outOfOrder: UInt64
    let unparsedFrames: UInt64
    let compressedFrames: UInt64
    let closedByServer: UInt64
    let latencyMs: LatencyFigures
    let client: ClientUsage
    let server: ServerCPU?
    /// Server plus client CPU per delivery, when the servers' CPU was read (`--server-pid`).
    let serverPlusClient: WholeMachineCPU?

    enum CodingKeys: String, CodingKey {
        case scenario, urls, rooms, members, publishers, rate, duration, alignedPublishers = "aligned_publishers"
        case messageBytes = "message_bytes", deflateOffered = "deflate_offered"
        case publishSeconds = "publish_seconds", deliverySeconds = "delivery_seconds", wallSeconds = "wall_seconds"
        case messagesPublished = "messages_published", expectedDeliveries = "expected_deliveries", deliveries
        case deliveriesPerSecond = "deliveries_per_second", lost, unexpected, outOfOrder = "out_of_order"
        case unparsedFrames = "unparsed_frames", compressedFrames = "compressed_frames", closedByServer = "closed_by_server"
        case latencyMs = "latency_ms", client, server, serverPlusClient = "server_plus_client"
    }

    init(
        scenario: String, urls: [String], rooms: Int, members: Int, publishers: Int, alignedPublishers: Bool, rate: Double, duration: Double, messageBytes: Int,
        deflateOffered: Bool, publishSeconds: Double, deliverySeconds: Double, wallSeconds: Double, counts: LoopStats.Snapshot,
        expected: UInt64, client: ClientUsage, server: ServerCPU?, serverPlusClient: WholeMachineCPU? = nil
    ) {
        self.scenario = scenario
        self.urls = urls
        self.rooms = rooms
        self.members = members
        self.publishers = publishers
        self.alignedPublishers = alignedPublishers
        self.rate = rate
        self.duration = duration
        self.messageBytes = messageBytes
        self.deflateOffered = deflateOffered
        self.publishSeconds = publishSeconds
        self.deliverySeconds = deliverySeconds
        self.wallSeconds = wallSeconds
        messagesPublished = counts.totalPublished
        expectedDeliveries = expected
        deliveries = counts.received
        deliveriesPerSecond = deliverySeconds > 0 ? Double(counts.received) / deliverySeconds : 0
        lost = expected > counts.received ? expected - counts.received : 0
        unexpected = counts.received > expected ? counts.received - expected : 0
        // fanout's out of order has always counted repeats too: any seq not above the last one.
        outOfOrder = counts.outOfOrder + counts.repeated
        unparsedFrames = counts.unparsed
        compressedFrames = counts.compressedFrames
        closedByServer = counts.closedByServer
        latencyMs = LatencyFigures(microseconds: counts.latency)
        self.client = client
        self.server = server
        self.serverPlusClient = serverPlusClient
    }

    var summary: String {
        var lines = [
            "\(scenario) against \(urls.joined(separator: ", ")): \(rooms) room(s) x \(members) members, \(publishers) \(alignedPublishers ? "aligned " : "")publishers at \(format(rate)) msg/s for \(format(duration)) s, \(messageBytes)-byte texts\(deflateOffered ? ", offering permessage-deflate" : "")",
            "  published     \(messagesPublished) messages, \(expectedDeliveries) deliveries expected",
            "  delivered     \(deliveries) (\(format(deliveriesPerSecond, 0)) per second over \(format(deliverySeconds, 2)) s, first send to last delivery)\(deflateOffered ? ", \(compressedFrames) compressed" : "")",
            "  lost          \(lost)\(unexpected > 0 ? "  (\(unexpected) more than expected)" : "")",
            "  out of order  \(outOfOrder)",
            "  latency ms    \(latencyMs.line)",
            "  chat-bench    \(format(client.cpuSeconds, 2)) CPU s (user \(format(client.cpuUserSeconds, 2)), system \(format(client.cpuSystemSeconds, 2))) over \(format(wallSeconds, 1)) s: \(format(client.coresBusy, 2)) of \(client.machineCores) cores",
        ]
        if let server {
            lines.append(
                "  server        \(format(server.cpuSeconds, 2)) CPU s, \(format(server.coresBusy, 2)) cores busy, \(format(server.cpuSecondsPerMillionDeliveries, 2)) CPU s per million deliveries")
        }
        if let serverPlusClient { lines.append("  \(serverPlusClient.line)") }
        if closedByServer > 0 { lines.append("  closed        \(closedByServer) connections closed by the server") }
        return lines.joined(separator: "\n")
    }
}
