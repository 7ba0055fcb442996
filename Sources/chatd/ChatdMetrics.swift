import ChatStorage
import Foundation
import Metrics
import Prometheus

/// chatd's metrics: the Prometheus registry behind swift-metrics (bootstrapped once, here),
/// and the figures sampled when `/metrics` is scraped: the process's CPU, memory and open files,
/// and the durable chat log's pending entries.
struct ChatdMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let cpuSeconds: Prometheus.Gauge
    private let residentBytes: Prometheus.Gauge
    private let openFiles: Prometheus.Gauge
    private let startTime: Prometheus.Gauge
    private let chatLogLength: Prometheus.Gauge
    private let chatLogPending: Prometheus.Gauge
    private let chatLogOldestPending: Prometheus.Gauge
    private let chatLogFigures: (@Sendable () async throws -> ChatLogFigures)?

    /// Makes the registry and bootstraps swift-metrics with it; call once per process, before
    /// any backend or server is made: each makes its metrics when made, from the factory then.
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Deliveries take microseconds to tens of milliseconds (the flush window is 10 ms).
        factory.durationHistogramBuckets["chatd_delivery_latency_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }

    init(registry: PrometheusCollectorRegistry, chatLogFigures: (@Sendable () async throws -> ChatLogFigures)?) {
        self.registry = registry
        self.chatLogFigures = chatLogFigures
        cpuSeconds = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "process_cpu_seconds_total", unitName: "", helpText: "User and system CPU time spent, in seconds."))
        residentBytes = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "process_resident_memory_bytes", unitName: "", helpText: "Resident memory size in bytes."))
        openFiles = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "process_open_fds", unitName: "", helpText: "Open file descriptors."))
        startTime = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "process_start_time_seconds", unitName: "", helpText: "When the process started, seconds since 1970."))
        startTime.set(Date().timeIntervalSince1970)
        chatLogLength = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "chatd_chat_log_length", unitName: "", helpText: "Entries in the durable chat-log stream."))
        chatLogPending = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "chatd_chat_log_pending", unitName: "", helpText: "Chat-log entries delivered to an indexer, not yet acknowledged."))
        chatLogOldestPending = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "chatd_chat_log_oldest_pending_age_seconds", unitName: "", helpText: "Age of the oldest pending chat-log entry (0: none pending)."))
    }

    /// The text `GET /metrics` answers, with the sampled figures brought up to date first.
    func exposition() async -> String {
        sampleProcess()
        if let chatLogFigures, let figures = try? await chatLogFigures() {
            chatLogLength.set(Double(figures.length))
            chatLogPending.set(Double(figures.pending))
            let age = figures.oldestPendingAge ?? .zero
            chatLogOldestPending.set(Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18)
        }
        return registry.emitToString()
    }

    /// Linux's /proc/self: CPU ticks (fields 14 and 15 of stat), resident pages (statm), fds.
    private func sampleProcess() {
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        {
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            // After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                cpuSeconds.set((user + system) / Double(sysconf(Int32(_SC_CLK_TCK))))
            }
        }
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Double(fields[1]) { residentBytes.set(pages * Double(sysconf(Int32(_SC_PAGESIZE)))) }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFiles.set(Double(descriptors.count))
        }
    }
}
