import ArgumentParser
import ChatTransport
import Foundation

/// The admin listener and the other operator settings of `chatd serve` (docs/operations.md);
/// `--admin-token` is with the authentication flags (``AuthOptions``). Every default is
/// ``AdminSettings``'.
struct AdminOptions: ParsableArguments {
    @Option(help: "Address of the admin listener: /metrics, /healthz, /readyz, /v1/admin/ (default 127.0.0.1; env CHATD_ADMIN_HOST).")
    var adminHost: String?

    @Option(help: "Port of the admin listener; 0 picks a free one (default 9090; env CHATD_ADMIN_PORT).")
    var adminPort: Int?

    @Option(help: "Seconds /readyz reports draining after SIGTERM before the WebSockets are closed (default 0).")
    var drainDelay: Double?

    @Option(help: "Seconds between this server's heartbeats in the node list (default 5).")
    var heartbeatInterval: Double?

    @Option(help: "Log format: text (for people; the default) or json (one object per line) (env CHATD_LOG_FORMAT).")
    var logFormat: String?

    /// The log format, checked before anything else runs.
    func format(environment: [String: String]) throws -> LogFormat {
        let text = logFormat ?? environment["CHATD_LOG_FORMAT"] ?? LogFormat.text.rawValue
        guard let format = LogFormat(rawValue: text) else { throw ValidationError("--log-format must be text or json, got '\(text)'") }
        return format
    }

    /// The admin listener's settings; `token` is `--admin-token`'s.
    func settings(token: String?, environment: [String: String]) throws -> AdminSettings {
        var settings = AdminSettings(token: token, version: chatdVersion)
        settings.host = adminHost ?? environment["CHATD_ADMIN_HOST"] ?? settings.host
        if let port = try adminPort ?? environment["CHATD_ADMIN_PORT"].map(Self.parsePort) {
            guard (0...65535).contains(port) else { throw ValidationError("--admin-port must be 0 to 65535") }
            settings.port = port
        }
        if let heartbeatInterval {
            guard heartbeatInterval > 0 else { throw ValidationError("--heartbeat-interval must be positive") }
            settings.heartbeatInterval = .milliseconds(Int64(heartbeatInterval * 1_000))
        }
        return settings
    }

    var drain: Duration {
        get throws {
            guard let drainDelay else { return .zero }
            guard drainDelay >= 0 else { throw ValidationError("--drain-delay must not be negative") }
            return .milliseconds(Int64(drainDelay * 1_000))
        }
    }

    private static func parsePort(_ text: String) throws -> Int {
        guard let port = Int(text) else { throw ValidationError("CHATD_ADMIN_PORT must be a number, got '\(text)'") }
        return port
    }
}

/// What the admin API's node list calls this build.
let chatdVersion = "0.13.0"
