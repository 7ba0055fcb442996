import ChatStorage
import ChatTransport
import Metrics
import Prometheus

/// Tests read the transport's counts from its metrics, as an operator's Prometheus would: the
/// registry's exposition text, parsed. A server made with ``TransportCounters/measured()`` (or
/// a ``PrometheusMetricsFactory`` of a fresh registry) can be read this way.
public struct MetricsText: Sendable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public init(registry: PrometheusCollectorRegistry) { self.text = registry.emitToString() }

    /// The sample of `name` whose labels include `labels`, summed over the others; 0 when the
    /// metric has no such sample.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        var total = 0.0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            let metric = series.prefix { $0 != "{" }
            guard metric == name else { continue }
            let found = Self.labels(of: series)
            if labels.allSatisfy({ found[$0.key] == $0.value }) { total += value }
        }
        return total
    }

    public func int(_ name: String, _ labels: [String: String] = [:]) -> Int { Int(value(name, labels)) }

    private static func labels(of series: Substring) -> [String: String] {
        guard let open = series.firstIndex(of: "{"), series.last == "}" else { return [:] }
        var labels: [String: String] = [:]
        for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            labels[String(parts[0])] = String(parts[1].trimmingCharacters(in: .init(charactersIn: "\"")))
        }
        return labels
    }
}

extension TransportCounters {
    /// Counters recording into a registry of their own, for a test to read.
    public static func measured() -> TransportCounters {
        TransportCounters(factory: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
    }

    /// The metrics as exposition text (empty unless made by a Prometheus factory).
    public var metrics: MetricsText {
        guard let factory = factory as? PrometheusMetricsFactory else { return MetricsText("") }
        return MetricsText(registry: factory.registry)
    }

    private func rejected(_ reason: String) -> Int { metrics.int("chatd_rejected_total", ["reason": reason]) }

    public var slowConsumersClosed: Int { metrics.int("chatd_slow_consumer_closes_total") }
    public var outboundBudgetClosed: Int { metrics.int("chatd_outbound_budget_closes_total") }
    public var idleTimeoutsClosed: Int { metrics.int("chatd_idle_timeout_closes_total") }
    public var expiredCredentialsClosed: Int { metrics.int("chatd_expired_credential_closes_total") }
    public var deflateSessionsNegotiated: Int { metrics.int("chatd_deflate_sessions_total") }
    public var rateLimitedClosed: Int { rejected("message_rate") }
    public var controlFloodsClosed: Int { rejected("control_rate") }
    public var authenticationFailuresRefused: Int { rejected("authentication") }
    public var authenticationAttemptsRateLimited: Int { rejected("authentication_rate") }
    public var roomCreationsRefused: Int { rejected("room_quota") }
    public var connectionsRefusedForAddress: Int { rejected("address_limit") }
    public var connectionsRefusedServerFull: Int { rejected("server_full") }
    public var requestDeadlinesMissed: Int { rejected("request_deadline") }
    public var originsRefused: Int { rejected("origin") }
    public var storageFullRefusals: Int { rejected("storage_full") }
}

extension ChatLogMetrics {
    /// Counts recording into a registry of their own, for a test to read.
    public static func measured() -> any MetricsFactory {
        PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
    }

    public var metrics: MetricsText {
        guard let factory = factory as? PrometheusMetricsFactory else { return MetricsText("") }
        return MetricsText(registry: factory.registry)
    }

    private func indexed(_ outcome: String) -> Int { metrics.int("chatd_chat_log_indexed_total", ["outcome": outcome]) }

    public var indexed: Int { indexed("created") }
    public var alreadyIndexed: Int { indexed("already_stored") }
    public var rejected: Int { indexed("rejected") }
    public var failedAttempts: Int { metrics.int("chatd_chat_log_failed_batches_total") }
    public var claimed: Int { metrics.int("chatd_chat_log_claimed_total") }
    public var dropped: Int { metrics.int("chatd_chat_log_dropped_total") }
}
