/// The whole machine's CPU per delivery: the servers' (`--server-pid`) plus chat-bench's own,
/// user, system and total. On loopback the kernel charges a receiver's TCP work to whichever
/// process runs the softirq, so a server's figure alone shifts cost onto its client or back;
/// the sum with the same client is the figure to compare servers by (issue 15).
struct WholeMachineCPU: Encodable, Equatable {
    let deliveries: UInt64
    let cpuUserSeconds: Double
    let cpuSystemSeconds: Double
    let cpuSeconds: Double
    /// Microseconds of CPU per delivery, server plus client; nil (JSON null) when nothing was delivered.
    let userMicrosecondsPerDelivery: Double?
    let systemMicrosecondsPerDelivery: Double?
    let microsecondsPerDelivery: Double?
    /// The servers' share alone: user time is their own work, wherever the kernel's goes.
    let serverUserMicrosecondsPerDelivery: Double?
    let serverMicrosecondsPerDelivery: Double?

    enum CodingKeys: String, CodingKey {
        case deliveries, cpuUserSeconds = "cpu_user_seconds", cpuSystemSeconds = "cpu_system_seconds", cpuSeconds = "cpu_seconds"
        case userMicrosecondsPerDelivery = "user_us_per_delivery", systemMicrosecondsPerDelivery = "system_us_per_delivery"
        case microsecondsPerDelivery = "total_us_per_delivery"
        case serverUserMicrosecondsPerDelivery = "server_user_us_per_delivery", serverMicrosecondsPerDelivery = "server_total_us_per_delivery"
    }

    init(server: CPUTime, client: CPUTime, deliveries: UInt64) {
        let machine = server + client
        self.deliveries = deliveries
        cpuUserSeconds = machine.user
        cpuSystemSeconds = machine.system
        cpuSeconds = machine.total
        func perDelivery(_ seconds: Double) -> Double? { deliveries > 0 ? seconds * 1e6 / Double(deliveries) : nil }
        userMicrosecondsPerDelivery = perDelivery(machine.user)
        systemMicrosecondsPerDelivery = perDelivery(machine.system)
        microsecondsPerDelivery = perDelivery(machine.total)
        serverUserMicrosecondsPerDelivery = perDelivery(server.user)
        serverMicrosecondsPerDelivery = perDelivery(server.total)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(deliveries, forKey: .deliveries)
        try container.encode(cpuUserSeconds, forKey: .cpuUserSeconds)
        try container.encode(cpuSystemSeconds, forKey: .cpuSystemSeconds)
        try container.encode(cpuSeconds, forKey: .cpuSeconds)
        // Explicit nulls: a reader sees "nothing delivered", not a missing figure.
        try container.encode(userMicrosecondsPerDelivery, forKey: .userMicrosecondsPerDelivery)
        try container.encode(systemMicrosecondsPerDelivery, forKey: .systemMicrosecondsPerDelivery)
        try container.encode(microsecondsPerDelivery, forKey: .microsecondsPerDelivery)
        try container.encode(serverUserMicrosecondsPerDelivery, forKey: .serverUserMicrosecondsPerDelivery)
        try container.encode(serverMicrosecondsPerDelivery, forKey: .serverMicrosecondsPerDelivery)
    }

    /// "server + client  14.61 us CPU per delivery (user 5.12, system 9.49); server alone 6.83 (user 2.00)".
    var line: String {
        guard let total = microsecondsPerDelivery, let user = userMicrosecondsPerDelivery, let system = systemMicrosecondsPerDelivery,
            let serverTotal = serverMicrosecondsPerDelivery, let serverUser = serverUserMicrosecondsPerDelivery
        else { return "server + client  no deliveries, so no CPU per delivery (\(significant(cpuSeconds)) CPU s in all)" }
        return "server + client  \(significant(total)) us CPU per delivery (user \(significant(user)), system \(significant(system))); server alone \(significant(serverTotal)) (user \(significant(serverUser)))"
    }
}

/// Three significant digits at least, so a tiny figure does not print as 0.00.
func significant(_ value: Double) -> String {
    let magnitude = abs(value)
    if magnitude == 0 || magnitude >= 100 { return format(value, magnitude == 0 ? 2 : 0) }
    if magnitude >= 1 { return format(value, 2) }
    var digits = 2
    while digits < 9, magnitude * powerOfTen(digits) < 100 { digits += 1 }
    return format(value, digits)
}

private func powerOfTen(_ digits: Int) -> Double { (0..<digits).reduce(1) { value, _ in value * 10 } }
