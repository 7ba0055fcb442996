import Foundation
import Histogram

/// A scenario's figures: one JSON object (`--json`, snake_case keys) or a readable summary.
protocol BenchReport: Encodable {
    var summary: String { get }
}

extension BenchReport {
    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// Percentiles of a histogram of microseconds, in milliseconds.
struct LatencyFigures: Encodable {
    let p50, p90, p99, p99_9, max, mean: Double
    let count: UInt64

    enum CodingKeys: String, CodingKey {
        case p50, p90, p99, max, mean, count
        case p99_9 = "p99.9"
    }

    init(microseconds h: Histogram<UInt64>) {
        let empty = h.totalCount == 0
        func ms(_ micros: UInt64) -> Double { empty ? 0 : Double(micros) / 1_000 }
        p50 = ms(h.valueAtPercentile(50))
        p90 = ms(h.valueAtPercentile(90))
        p99 = ms(h.valueAtPercentile(99))
        p99_9 = ms(h.valueAtPercentile(99.9))
        max = ms(h.max)
        mean = empty ? 0 : h.mean / 1_000
        count = h.totalCount
    }

    var line: String { "p50 \(format(p50, 2))  p90 \(format(p90, 2))  p99 \(format(p99, 2))  p99.9 \(format(p99_9, 2))  max \(format(max, 2))" }
}

/// chat-bench's own CPU over a measured window, to show whether the load generator was the bottleneck.
struct ClientUsage: Encodable {
    let cpuUserSeconds: Double
    let cpuSystemSeconds: Double
    let cpuSeconds: Double
    /// CPU seconds per wall second: 1.0 is one core busy.
    let coresBusy: Double
    let threads: Int
    let machineCores: Int

    enum CodingKeys: String, CodingKey {
        case cpuUserSeconds = "cpu_user_seconds", cpuSystemSeconds = "cpu_system_seconds", cpuSeconds = "cpu_seconds"
        case coresBusy = "cores_busy", threads, machineCores = "machine_cores"
    }

    init(cpu: CPUTime, wallSeconds: Double, threads: Int) {
        cpuUserSeconds = cpu.user
        cpuSystemSeconds = cpu.system
        cpuSeconds = cpu.total
        coresBusy = wallSeconds > 0 ? cpu.total / wallSeconds : 0
        self.threads = threads
        machineCores = ProcessInfo.processInfo.activeProcessorCount
    }
}

/// The server processes' CPU over a measured window, read from /proc (`--server-pid`).
struct ServerCPU: Encodable {
    let pids: [Int32]
    let cpuUserSeconds: Double
    let cpuSystemSeconds: Double
    let cpuSeconds: Double
    let coresBusy: Double
    let cpuSecondsPerMillionDeliveries: Double

    enum CodingKeys: String, CodingKey {
        case pids, cpuSeconds = "cpu_seconds", coresBusy = "cores_busy"
        case cpuUserSeconds = "cpu_user_seconds", cpuSystemSeconds = "cpu_system_seconds"
        case cpuSecondsPerMillionDeliveries = "cpu_seconds_per_million_deliveries"
    }

    init(pids: [Int32], cpu: CPUTime, wallSeconds: Double, deliveries: UInt64) {
        self.pids = pids
        cpuUserSeconds = cpu.user
        cpuSystemSeconds = cpu.system
        let cpuSeconds = cpu.total
        self.cpuSeconds = cpuSeconds
        coresBusy = wallSeconds > 0 ? cpuSeconds / wallSeconds : 0
        cpuSecondsPerMillionDeliveries = deliveries > 0 ? cpuSeconds * 1e6 / Double(deliveries) : 0
    }
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
