import Foundation
import Logging

/// How chatd writes its log (`--log-format`).
enum LogFormat: String {
    /// swift-log's stream format, for people.
    case text
    /// One JSON object per line (`level`, `time`, `label`, `message`, `metadata`), for machines.
    case json
}

/// `--log-format json`: one object per line on standard error, e.g.
/// `{"label":"chatd","level":"notice","message":"refused","metadata":{"reason":"origin","request":"…"},"time":"…"}`.
/// Lines logged for an HTTP request or a join carry its `request` id (``RequestID``), joined
/// sockets their connection id (`connection`).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var object: [String: Any] = [
            "level": event.level.rawValue,
            "time": Self.timestamp(),
            "label": label,
            "message": event.message.description,
        ]
        if !merged.isEmpty { object["metadata"] = merged.mapValues(Self.json) }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(line)
    }

    private static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }

    private static func timestamp() -> String {
        Date.now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
