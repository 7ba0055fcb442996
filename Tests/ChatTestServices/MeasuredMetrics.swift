import Metrics
import Prometheus

/// A metrics factory recording into a registry of its own: a test hands ``factory`` to what it
/// measures (a broker, a client, a store) and reads the metrics back as an operator's
/// Prometheus would (``MetricsText``).
public struct MeasuredMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    public let factory: any MetricsFactory

    public init() { factory = PrometheusMetricsFactory(registry: registry) }

    /// The metrics as exposition text, as scraped now.
    public var text: MetricsText { MetricsText(registry: registry) }

    /// The sample of `name` whose labels include `labels`, summed over the others (0 if none).
    public func int(_ name: String, _ labels: [String: String] = [:]) -> Int { text.int(name, labels) }
}

extension MetricsText {
    /// What a Prometheus factory (a ``MeasuredMetrics``' one) recorded; empty for another factory.
    public init(factory: any MetricsFactory) {
        guard let factory = factory as? PrometheusMetricsFactory else {
            self.init("")
            return
        }
        self.init(registry: factory.registry)
    }
}
