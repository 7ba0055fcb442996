import ArgumentParser
import Logging

enum Logging {
    /// Sends logs to standard error at `level` (default info) and returns chatd's logger.
    static func bootstrap(level: String?) throws -> Logger {
        let parsed: Logger.Level
        if let level {
            guard let value = Logger.Level(rawValue: level.lowercased()) else {
                throw ValidationError("unknown log level '\(level)'")
            }
            parsed = value
        } else {
            parsed = .info
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
        var logger = Logger(label: "chatd")
        logger.logLevel = parsed
        return logger
    }
}
