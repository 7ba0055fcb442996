/// The two halves of a `deflate` run and what compression cost the server.
struct DeflateReport: BenchReport {
    let scenario = "deflate"
    let plain: FanoutReport
    let deflate: FanoutReport
    /// Server CPU per delivery with deflate offered over without: DESIGN's target is <= 1.5.
    let serverCPURatio: Double

    enum CodingKeys: String, CodingKey {
        case scenario, plain, deflate, serverCPURatio = "server_cpu_ratio"
    }

    init(plain: FanoutReport, deflate: FanoutReport) {
        self.plain = plain
        self.deflate = deflate
        let base = plain.server?.cpuSecondsPerMillionDeliveries ?? 0
        serverCPURatio = base > 0 ? (deflate.server?.cpuSecondsPerMillionDeliveries ?? 0) / base : 0
    }

    var summary: String {
        """
        without permessage-deflate:
        \(plain.summary)
        with permessage-deflate offered:
        \(deflate.summary)
        server CPU per delivery, deflate / plain: \(format(serverCPURatio, 2))x
        """
    }
}
