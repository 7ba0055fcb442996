import Foundation
import Histogram
import NIOCore
import Testing

@testable import chat_bench

/// chat-bench's arithmetic without sockets: percentiles, per-delivery CPU (also with nothing
/// delivered), the rooms report's counts, and the parsers of what servers say about themselves.
@Suite struct ReportArithmeticTests {
    @Test func percentilesComeInMillisecondsAndAnEmptyHistogramIsAllZero() {
        var histogram = LoopStats.microsecondHistogram()
        for micros in 1...1_000 { _ = histogram.record(UInt64(micros) * 1_000) }  // 1 ms ... 1,000 ms
        let figures = LatencyFigures(microseconds: histogram)
        #expect(abs(figures.p50 - 500) <= 1)
        #expect(abs(figures.p90 - 900) <= 1)
        #expect(abs(figures.p99 - 990) <= 1)
        #expect(abs(figures.max - 1_000) <= 1)
        #expect(figures.count == 1_000)
        let empty = LatencyFigures(microseconds: LoopStats.microsecondHistogram())
        #expect([empty.p50, empty.p90, empty.p99, empty.p99_9, empty.max, empty.mean] == [0, 0, 0, 0, 0, 0])
        #expect(empty.count == 0)
    }

    @Test func serverPlusClientCPUPerDeliveryAddsBothSides() {
        let machine = WholeMachineCPU(server: CPUTime(user: 2, system: 3), client: CPUTime(user: 1, system: 4), deliveries: 1_000_000)
        #expect(machine.cpuSeconds == 10)
        #expect(machine.userMicrosecondsPerDelivery == 3)
        #expect(machine.systemMicrosecondsPerDelivery == 7)
        #expect(machine.microsecondsPerDelivery == 10)
        #expect(machine.serverUserMicrosecondsPerDelivery == 2)
        #expect(machine.serverMicrosecondsPerDelivery == 5)
        #expect(machine.line.contains("10.00 us CPU per delivery (user 3.00, system 7.00)"), "\(machine.line)")
    }

    @Test func noDeliveriesGiveNoPerDeliveryFigureRatherThanADivisionByZero() throws {
        let machine = WholeMachineCPU(server: CPUTime(user: 0.5, system: 0.25), client: CPUTime(user: 0.1, system: 0), deliveries: 0)
        #expect(machine.microsecondsPerDelivery == nil)
        #expect(machine.userMicrosecondsPerDelivery == nil)
        #expect(machine.line.contains("no deliveries"))
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(machine)) as? [String: Any])
        #expect(json["total_us_per_delivery"] is NSNull, "a null, not a missing key nor infinity: \(json)")
        #expect(json["cpu_seconds"] as? Double == 0.85)
        let server = ServerCPU(pids: [1], cpu: CPUTime(user: 1, system: 1), wallSeconds: 0, deliveries: 0)
        #expect(server.cpuSecondsPerMillionDeliveries == 0 && server.coresBusy == 0)
    }

    @Test func tinyFiguresKeepThreeSignificantDigits() {
        #expect(significant(0.01) == "0.0100")
        #expect(significant(0.000_123_4) == "0.000123")
        #expect(significant(12.345) == "12.35")
        #expect(significant(1234.5) == "1234")  // %.0f rounds half to even
        #expect(significant(0) == "0.00")
    }

    @Test func roomsReportCountsLossesRepeatsAndShortRooms() {
        var counts = LoopStats.Snapshot()
        counts.published = [0: 10, 1: 10, 2: 0]
        counts.received = 10 * 3 + 10 * 3 - 2 + 1  // room 1 lost two, and one delivery came twice
        counts.repeated = 1
        counts.outOfOrder = 0
        let report = RoomsReport(
            urls: ["http://a"], rooms: 3, members: 3, ratePerRoom: 0.01, warmup: 0, duration: 100, messageBytes: 100,
            deliverySeconds: 0, wallSeconds: 0, counts: counts, publishedByRoom: [10, 10, 0], receivedByRoom: [30, 29, 0], servers: [],
            client: ClientUsage(cpu: CPUTime(user: 0, system: 0), wallSeconds: 0, threads: 1), serverCPU: nil,
            redisCPU: (urls: ["redis://x"], cpu: CPUTime(user: 0.2, system: 0.1)))
        #expect(report.expectedDeliveries == 60)
        #expect(report.lost == 2, "a repeat does not make up for a lost delivery")
        #expect(report.duplicated == 1)
        #expect(report.roomsWithDeliveries == 2)
        #expect(report.roomsShort == 1)
        #expect(report.totalRate == 0.03)
        #expect(report.deliveriesPerSecond == 0, "no time measured: no rate, not infinity")
        #expect(report.redis?.coresBusy == 0)
        #expect(abs((report.redis?.microsecondsPerMessage ?? 0) - 15_000) < 1e-6)
        #expect(report.join.subscriptionMsP50 == nil, "no joins timed")
        #expect(report.serverPlusClient == nil)
    }

    @Test func theMembersOfARoomGoRoundRobinOverTheServers() {
        // 3 members over 2 servers: each room spans both, and its publishers alternate.
        #expect((0..<3).map { RoomsRun.server(ofRoom: 0, member: $0, servers: 2) } == [0, 1, 0])
        #expect((0..<3).map { RoomsRun.server(ofRoom: 1, member: $0, servers: 2) } == [1, 0, 1])
        // 1 member over 2 servers: the rooms alternate, so each server holds half of them.
        #expect((0..<4).map { RoomsRun.server(ofRoom: $0, member: 0, servers: 2) } == [0, 1, 0, 1])
        #expect((0..<3).map { RoomsRun.isFirstOnServer(member: $0, servers: 2) } == [true, true, false])
    }

    @Test func chatdMetricsAreReadOutOfPrometheusText() throws {
        let text = """
            # TYPE chatd_connections gauge
            chatd_connections{auth="token"} 12
            chatd_connections_other 99
            # TYPE chatd_rooms_active gauge
            chatd_rooms_active 3.0
            """
        #expect(try ServerMetrics.parse(text, from: "http://a") == ServerMetrics(connections: 12, roomsActive: 3))
        #expect(throws: ServerMetrics.Unreadable.self) { try ServerMetrics.parse("chatd_connections 1", from: "http://a") }
    }

    @Test func redisInfoCPUIsParsedAndItsRepliesFramed() throws {
        let info = "# CPU\r\nused_cpu_sys:1.50\r\nused_cpu_user:2.25\r\nused_cpu_sys_children:9.00\r\n"
        let cpu = try RedisCPU.parseCPU(info, url: "redis://x")
        #expect(cpu.user == 2.25 && cpu.system == 1.5)
        let bulk = "$\(info.utf8.count)\r\n\(info)\r\n"
        #expect(RedisCPU.replies(2, in: ByteBuffer(string: "+OK\r\n" + bulk)) == ["+OK", info])
        #expect(RedisCPU.replies(2, in: ByteBuffer(string: "+OK\r\n" + bulk.dropLast(3))) == nil, "incomplete: read on")
        #expect(try RedisCPU(url: "redis://:secret@127.0.0.1:6416/17").password == "secret")
        #expect(throws: RedisCPU.Unreadable.self) { try RedisCPU(url: "http://127.0.0.1:6416") }
    }

    @Test func aJoinProbeIsToldApartFromAMessage() {
        let message = #"{"chatroom":1,"user":"u","message":"t=123 p=0 n=1 the room","seq":7}"#
        let probe = #"{"chatroom":1,"user":"u","message":"j=456 join probe","seq":8}"#
        let fields = message.utf8.withContiguousStorageIfAvailable { MessageScanner.scan(UnsafeRawBufferPointer($0)) } ?? nil
        let probeFields = probe.utf8.withContiguousStorageIfAvailable { MessageScanner.scan(UnsafeRawBufferPointer($0)) } ?? nil
        #expect(fields?.seq == 7 && fields?.sentAt == 123 && fields?.isProbe == false)
        #expect(probeFields?.seq == 8 && probeFields?.sentAt == 456 && probeFields?.isProbe == true)
        let other = #"{"message":"hello","seq":9}"#
        #expect((other.utf8.withContiguousStorageIfAvailable { MessageScanner.scan(UnsafeRawBufferPointer($0)) } ?? nil) == nil)
    }
}
