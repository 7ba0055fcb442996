import ArgumentParser
import ChatTransport
import Prometheus

/// `fanout-cost`: the CPU cost of broadcasting one message to a room's local members, with
/// compression off, with a deflater per connection, and with chatd's one-encode compression.
/// Build with `-c release`; see docs/performance.md.
@main
struct FanOutCost: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout-cost",
        abstract: "Measure the server CPU cost of one broadcast to N local members (in process, socket writes replaced by a sink)."
    )

    @Option(help: "Members in the room.")
    var members = 1_000

    @Option(help: "Messages broadcast per mode.")
    var messages = 2_000

    @Option(help: "Messages delivered between two flushes (as a flush window gathers them; 1: each its own).")
    var messagesPerFlush = 1

    @Option(help: "Bytes of chat text per message.")
    var textBytes = 200

    @Option(help: "Modes to run: plain, per-connection, one-encode.")
    var mode: [String] = FanOutCostBenchmark.Mode.allCases.map(\.rawValue)

    @Flag(help: "Record the fan-out's metrics into a Prometheus registry, as chatd does (docs/operations.md).")
    var metrics = false

    func run() throws {
        let modes = try mode.map { name in
            guard let mode = FanOutCostBenchmark.Mode(rawValue: name) else { throw ValidationError("unknown mode '\(name)'") }
            return mode
        }
        let factory = metrics ? PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()) : nil
        print("members=\(members) messages=\(messages) messages_per_flush=\(messagesPerFlush) text_bytes=\(textBytes) metrics=\(metrics ? "prometheus" : "off")")
        print("mode            cpu_s   us/broadcast  ns/delivery  bytes/delivery")
        var plainCost: Double?
        for mode in modes {
            _ = try FanOutCostBenchmark.run(mode: mode, members: members, messages: max(1, messages / 10), perFlush: messagesPerFlush, textBytes: textBytes, metrics: factory)  // warm-up
            let result = try FanOutCostBenchmark.run(mode: mode, members: members, messages: messages, perFlush: messagesPerFlush, textBytes: textBytes, metrics: factory)
            if mode == .plain { plainCost = result.nanosecondsPerDelivery }
            let ratio = plainCost.map { String(format: "  (%.2fx plain)", result.nanosecondsPerDelivery / $0) } ?? ""
            print(
                mode.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0),
                String(format: "%7.2f  %12.1f  %11.1f  %14.1f", result.cpuSeconds, result.microsecondsPerBroadcast, result.nanosecondsPerDelivery, result.bytesPerDelivery)
                    + ratio
            )
        }
    }
}
