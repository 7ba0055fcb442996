import ArgumentParser
import ChatTransport
import NIOCore

/// WebSocket transport settings of `chatd serve`; every default is ChatServerConfiguration's.
struct TransportOptions: ParsableArguments {
    @Flag(help: "Refuse permessage-deflate offers: every message goes out uncompressed.")
    var noDeflate = false

    @Option(help: "Messages shorter than this many bytes go out uncompressed (default 128).")
    var deflateThreshold: Int?

    @Option(help: "Chat messages a connection may send per second before it is closed with 1008; 0: unlimited (default 50).")
    var messageRate: Int?

    @Option(help: "Seconds of silence before a WebSocket is pinged; 0: never (default 30).")
    var pingInterval: Int?

    @Option(help: "Seconds of silence (pings unanswered) before a WebSocket is closed with 1001 (default 60).")
    var idleTimeout: Int?

    @Option(help: "Bytes a slow reader may have queued before it is closed with 1008 (default 4194304).")
    var maxQueuedBytes: Int?

    @Option(help: "Connections waiting to be accepted before new ones are refused for a second; capped by net.core.somaxconn (default 4096).")
    var listenBacklog: Int?

    @Option(help: "Milliseconds the fan-out waits before flushing a connection, so messages share a syscall (default 10; 0: at the end of each event-loop tick).")
    var flushWindowMs: Double?

    func apply(to configuration: inout ChatServerConfiguration) throws {
        if noDeflate {
            configuration.deflate = nil
        } else if let deflateThreshold {
            guard deflateThreshold >= 0 else { throw ValidationError("--deflate-threshold must not be negative") }
            configuration.deflate?.minimumCompressedPayloadBytes = deflateThreshold
        }
        if let messageRate {
            guard messageRate >= 0 else { throw ValidationError("--message-rate must not be negative") }
            configuration.maximumMessagesPerSecond = messageRate == 0 ? nil : messageRate
        }
        if let pingInterval {
            guard pingInterval >= 0 else { throw ValidationError("--ping-interval must not be negative") }
            configuration.pingInterval = pingInterval == 0 ? nil : .seconds(Int64(pingInterval))
        }
        if let idleTimeout {
            guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
            configuration.idleTimeout = .seconds(Int64(idleTimeout))
        }
        if let maxQueuedBytes {
            guard maxQueuedBytes >= 64 * 1024 else { throw ValidationError("--max-queued-bytes must be at least 65536") }
            configuration.maximumQueuedBytesPerConnection = maxQueuedBytes
        }
        if let listenBacklog {
            guard listenBacklog >= 1 else { throw ValidationError("--listen-backlog must be positive") }
            configuration.listenBacklog = listenBacklog
        }
        if let flushWindowMs {
            guard (0...1_000).contains(flushWindowMs) else { throw ValidationError("--flush-window-ms must be between 0 and 1000") }
            configuration.flushWindow = .nanoseconds(Int64(flushWindowMs * 1_000_000))
        }
    }
}
