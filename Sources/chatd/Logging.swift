import ArgumentParser
import ChatTransport
import Logging

enum Logging {
    /// Sends logs to standard error at `level` (default info) and returns chatd's logger.
    static func bootstrap(level: String?, format: LogFormat = .text) throws -> Logger {
        let parsed: Logger.Level
        if let level {
            guard let value = Logger.Level(rawValue: level.lowercased()) else {
                throw ValidationError("unknown log level '\(level)'")
            }
            parsed = value
        } else {
            parsed = .info
        }
        // Lines logged for an HTTP request or a join carry its id (`request`).
        LoggingSystem.bootstrap(
            { label, provider in
                switch format {
                case .text:
                    var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                    handler.logLevel = parsed
                    return handler
                case .json:
                    return JSONLogHandler(label: label, logLevel: parsed, metadataProvider: provider)
                }
            }, metadataProvider: RequestID.metadataProvider)
        var logger = Logger(label: "chatd")
        logger.logLevel = parsed
        return logger
    }
}
