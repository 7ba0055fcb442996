import Foundation

/// A value bound to a `?` placeholder or read from a result column.
///
/// Every statement goes through the binary prepared-statement protocol, so values travel
/// typed and are never spliced into SQL text: a name with quotes cannot change a query.
public enum MariaDBValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case int(Int64)
    case string(String)
    /// A point in time, sent and read as a UTC `DATETIME(6)`.
    case date(Date)

    public var int: Int64? {
        switch self {
        case .int(let value): value
        case .string(let text): Int64(text)
        default: nil
        }
    }

    public var string: String? {
        switch self {
        case .string(let text): text
        case .int(let value): String(value)
        default: nil
        }
    }

    public var date: Date? {
        if case .date(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .int(let value): String(value)
        case .string(let text): "'\(text)'"
        case .date(let date): "\(date)"
        }
    }
}

/// One row of a result set, in column order.
public typealias MariaDBRow = [MariaDBValue]

/// What a statement without a result set did.
public struct MariaDBExecution: Sendable, Hashable {
    public var affectedRows: UInt64
    /// The `AUTO_INCREMENT` value the statement generated, or 0.
    public var insertID: UInt64
}
