import CMariaDB
import Foundation

/// The memory behind a statement's `MYSQL_BIND` array for its parameters.
///
/// libmariadb keeps raw pointers into these buffers between `mysql_stmt_bind_param` and
/// `mysql_stmt_execute`, so they live in manually allocated memory owned by this object and
/// are freed only after the statement ran.
final class ParameterBindings {
    private(set) var binds: UnsafeMutablePointer<MYSQL_BIND>
    private let count: Int
    private var allocations: [UnsafeMutableRawPointer] = []

    init(_ values: [MariaDBValue]) {
        count = values.count
        binds = .allocate(capacity: max(count, 1))
        binds.initialize(repeating: MYSQL_BIND(), count: max(count, 1))
        for (index, value) in values.enumerated() {
            bind(value, at: index)
        }
    }

    deinit {
        allocations.forEach { $0.deallocate() }
        binds.deinitialize(count: max(count, 1))
        binds.deallocate()
    }

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
        allocations.append(memory)
        return memory
    }

    private func bind(_ value: MariaDBValue, at index: Int) {
        switch value {
        case .null:
            binds[index].buffer_type = MYSQL_TYPE_NULL
        case .int(let number):
            let buffer = allocate(MemoryLayout<Int64>.size)
            buffer.storeBytes(of: number, as: Int64.self)
            binds[index].buffer_type = MYSQL_TYPE_LONGLONG
            binds[index].buffer = buffer
            binds[index].buffer_length = UInt(MemoryLayout<Int64>.size)
        case .string(let text):
            let bytes = Array(text.utf8)
            let buffer = allocate(bytes.count)
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            let length = allocate(MemoryLayout<UInt>.size).bindMemory(to: UInt.self, capacity: 1)
            length.pointee = UInt(bytes.count)
            binds[index].buffer_type = MYSQL_TYPE_STRING
            binds[index].buffer = buffer
            binds[index].buffer_length = UInt(bytes.count)
            binds[index].length = length
        case .date(let date):
            let time = allocate(MemoryLayout<MYSQL_TIME>.size).bindMemory(to: MYSQL_TIME.self, capacity: 1)
            time.initialize(to: MariaDBTime.components(of: date))
            binds[index].buffer_type = MYSQL_TYPE_DATETIME
            binds[index].buffer = UnsafeMutableRawPointer(time)
            binds[index].buffer_length = UInt(MemoryLayout<MYSQL_TIME>.size)
        }
    }
}

/// Output buffers for one result set, sized from the columns' `max_length` after
/// `mysql_stmt_store_result`, so a fetch never truncates.
final class ResultBindings {
    private enum Kind { case integer(unsigned: Bool), time, text }

    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let kinds: [Kind]
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>
    private var buffers: [UnsafeMutableRawPointer] = []

    init(fields: UnsafeMutablePointer<MYSQL_FIELD>, count: Int) {
        binds = .allocate(capacity: max(count, 1))
        binds.initialize(repeating: MYSQL_BIND(), count: max(count, 1))
        lengths = .allocate(capacity: max(count, 1))
        lengths.initialize(repeating: 0, count: max(count, 1))
        nulls = .allocate(capacity: max(count, 1))
        nulls.initialize(repeating: 0, count: max(count, 1))
        var kinds: [Kind] = []
        for index in 0..<count {
            let field = fields[index]
            let kind: Kind
            let size: Int
            switch field.type {
            case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_YEAR:
                kind = .integer(unsigned: field.flags & UInt32(UNSIGNED_FLAG) != 0)
                size = MemoryLayout<Int64>.size
                binds[index].buffer_type = MYSQL_TYPE_LONGLONG
                binds[index].is_unsigned = field.flags & UInt32(UNSIGNED_FLAG) != 0 ? 1 : 0
            case MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP, MYSQL_TYPE_DATE:
                kind = .time
                size = MemoryLayout<MYSQL_TIME>.size
                binds[index].buffer_type = MYSQL_TYPE_DATETIME
            default:
                kind = .text
                size = Int(field.max_length) + 1
                binds[index].buffer_type = MYSQL_TYPE_STRING
            }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            buffers.append(buffer)
            binds[index].buffer = buffer
            binds[index].buffer_length = UInt(size)
            binds[index].length = lengths + index
            binds[index].is_null = nulls + index
            kinds.append(kind)
        }
        self.kinds = kinds
    }

    deinit {
        buffers.forEach { $0.deallocate() }
        binds.deinitialize(count: max(kinds.count, 1))
        binds.deallocate()
        lengths.deallocate()
        nulls.deallocate()
    }

    /// The row libmariadb last fetched into the buffers.
    func currentRow() -> MariaDBRow {
        kinds.indices.map { index in
            if nulls[index] != 0 { return .null }
            let buffer = buffers[index]
            switch kinds[index] {
            case .integer(let unsigned):
                let bits = buffer.load(as: UInt64.self)
                return .int(unsigned ? Int64(truncatingIfNeeded: bits) : Int64(bitPattern: bits))
            case .time:
                return .date(MariaDBTime.date(from: buffer.load(as: MYSQL_TIME.self)))
            case .text:
                let bytes = UnsafeRawBufferPointer(start: buffer, count: Int(lengths[index]))
                return .string(String(decoding: bytes, as: UTF8.self))
            }
        }
    }
}

/// Conversions between `Date` and `MYSQL_TIME`, always in UTC so that what one server
/// writes another reads back unchanged whatever the hosts' time zones.
enum MariaDBTime {
    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func components(of date: Date) -> MYSQL_TIME {
        let parts = utc.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        var time = MYSQL_TIME()
        time.year = UInt32(parts.year ?? 1970)
        time.month = UInt32(parts.month ?? 1)
        time.day = UInt32(parts.day ?? 1)
        time.hour = UInt32(parts.hour ?? 0)
        time.minute = UInt32(parts.minute ?? 0)
        time.second = UInt32(parts.second ?? 0)
        time.second_part = UInt((parts.nanosecond ?? 0) / 1000)
        time.time_type = MYSQL_TIMESTAMP_DATETIME
        return time
    }

    static func date(from time: MYSQL_TIME) -> Date {
        let parts = DateComponents(
            year: Int(time.year), month: Int(time.month), day: Int(time.day),
            hour: Int(time.hour), minute: Int(time.minute), second: Int(time.second),
            nanosecond: Int(time.second_part) * 1000
        )
        return utc.date(from: parts) ?? Date(timeIntervalSince1970: 0)
    }
}
