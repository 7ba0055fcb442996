import Foundation

/// Every figure of a `fanout` run: one JSON object (`--json`) or a readable summary.
struct FanoutReport: Encodable {
    let scenario = "fanout"
    let url: String
    let rooms: Int
    let members: Int
    let publishers: Int
    let rate: Double
    let duration: Double
    let publishSeconds: Double
    /// From the first message sent to the last one received.
    let deliverySeconds: Double
    let drainSeconds: Double
    let wallSeconds: Double
    let messagesPublished: UInt64
    let expectedDeliveries: UInt64
    let deliveries: UInt64
    let deliveriesPerSecond: Double
    let lost: UInt64
    let unexpected: UInt64
    let outOfOrder: UInt64
    let unparsedFrames: UInt64
    let latencyMs: Latency
    let client: Client

    struct Latency: Encodable {
        let p50, p99, p99_9, max, mean: Double
        let count: UInt64

        enum CodingKeys: String, CodingKey {
            case p50, p99, max, mean, count
            case p99_9 = "p99.9"
        }
    }

    /// chat-bench's own cost over the publishing and drain window, to show it was not the bottleneck.
    struct Client: Encodable {
        let cpuUserSeconds: Double
        let cpuSystemSeconds: Double
        let cpuSeconds: Double
        /// CPU seconds per wall second: 1.0 is one core busy.
        let coresBusy: Double
        let threads: Int
        let machineCores: Int
        let cpuMicrosecondsPerDelivery: Double

        enum CodingKeys: String, CodingKey {
            case cpuUserSeconds = "cpu_user_seconds", cpuSystemSeconds = "cpu_system_seconds", cpuSeconds = "cpu_seconds"
            case coresBusy = "cores_busy", threads, machineCores = "machine_cores"
            case cpuMicrosecondsPerDelivery = "cpu_us_per_delivery"
        }
    }

    enum CodingKeys: String, CodingKey {
        case scenario, url, rooms, members, publishers, rate, duration
        case publishSeconds = "publish_seconds", deliverySeconds = "delivery_seconds", drainSeconds = "drain_seconds", wallSeconds = "wall_seconds"
        case messagesPublished = "messages_published", expectedDeliveries = "expected_deliveries", deliveries
        case deliveriesPerSecond = "deliveries_per_second", lost, unexpected, outOfOrder = "out_of_order"
        case unparsedFrames = "unparsed_frames", latencyMs = "latency_ms", client
    }

    init(
        url: String, rooms: Int, members: Int, publishers: Int, rate: Double, duration: Double, publishSeconds: Double,
        deliverySeconds: Double, drainSeconds: Double, wallSeconds: Double, counts: LoopStats.Snapshot, expected: UInt64, cpu: CPUTime, threads: Int
    ) {
        self.url = url
        self.rooms = rooms
        self.members = members
        self.publishers = publishers
        self.rate = rate
        self.duration = duration
        self.publishSeconds = publishSeconds
        self.deliverySeconds = deliverySeconds
        self.drainSeconds = drainSeconds
        self.wallSeconds = wallSeconds
        messagesPublished = counts.totalPublished
        expectedDeliveries = expected
        deliveries = counts.received
        deliveriesPerSecond = deliverySeconds > 0 ? Double(counts.received) / deliverySeconds : 0
        lost = expected > counts.received ? expected - counts.received : 0
        unexpected = counts.received > expected ? counts.received - expected : 0
        outOfOrder = counts.outOfOrder
        unparsedFrames = counts.unparsed
        let h = counts.latency
        let empty = h.totalCount == 0
        func ms(_ micros: UInt64) -> Double { empty ? 0 : Double(micros) / 1_000 }
        latencyMs = Latency(
            p50: ms(h.valueAtPercentile(50)), p99: ms(h.valueAtPercentile(99)), p99_9: ms(h.valueAtPercentile(99.9)),
            max: ms(h.max), mean: empty ? 0 : h.mean / 1_000, count: h.totalCount)
        client = Client(
            cpuUserSeconds: cpu.user, cpuSystemSeconds: cpu.system, cpuSeconds: cpu.total,
            coresBusy: wallSeconds > 0 ? cpu.total / wallSeconds : 0, threads: threads,
            machineCores: ProcessInfo.processInfo.activeProcessorCount,
            cpuMicrosecondsPerDelivery: counts.received > 0 ? cpu.total * 1e6 / Double(counts.received) : 0)
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    var summary: String {
        func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        return """
            fanout against \(url): \(rooms) room(s) x \(members) members, \(publishers) publishers at \(f(rate)) msg/s for \(f(duration)) s
              published     \(messagesPublished) messages, \(expectedDeliveries) deliveries expected
              delivered     \(deliveries) (\(f(deliveriesPerSecond, 0)) per second over \(f(deliverySeconds, 2)) s, first send to last delivery)
              lost          \(lost)\(unexpected > 0 ? "  (\(unexpected) more than expected)" : "")
              out of order  \(outOfOrder)
              latency ms    p50 \(f(latencyMs.p50, 2))  p99 \(f(latencyMs.p99, 2))  p99.9 \(f(latencyMs.p99_9, 2))  max \(f(latencyMs.max, 2))
              chat-bench    \(f(client.cpuSeconds, 2)) CPU s (user \(f(client.cpuUserSeconds, 2)), system \(f(client.cpuSystemSeconds, 2))) over \(f(wallSeconds, 1)) s: \(f(client.coresBusy, 2)) of \(client.machineCores) cores, \(f(client.cpuMicrosecondsPerDelivery, 2)) us per delivery
            """
    }
}
