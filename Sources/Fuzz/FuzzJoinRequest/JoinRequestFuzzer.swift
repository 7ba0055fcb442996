import ChatCore
import Foundation

@testable import ChatTransport

/// The join's request target: ``JoinRequest/init(uri:)``, the room id it names
/// (``RoomID/init(parsing:)``) and the user name rules (``UserName/init(validating:)``).
///
/// Input: the URI as the HTTP parser hands it on (any bytes; NIO passes them through as a
/// String). Inputs that do not start with `/` are also tried behind the join path, so the
/// fuzzer spends its time in the query.
///
/// Checks: a parsed room id prints back as its path segment; a valid name keeps the rules
/// (1-32 scalars, no controls, no line separators, no bidi overrides, no white space at the
/// edges) and survives a JSON round trip; a user value percent-encoded again (as a browser's
/// `encodeURIComponent` does) parses back to the same name.
enum JoinRequestFuzzer {
    /// RFC 3986 unreserved characters: what `encodeURIComponent` leaves alone (and `!'()*`).
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!'()*")

    static func run(_ input: UnsafeRawBufferPointer) {
        let uri = String(decoding: input, as: UTF8.self)
        check(uri)
        if !uri.hasPrefix("/") { check("/v1/chatrooms/1/join?" + uri) }
    }

    private static func check(_ uri: String) {
        guard let join = JoinRequest(uri: uri) else { return }
        if let room = try? join.room() {
            precondition(room.rawValue > 0 && room.description == join.roomSegment, "room \(room) from segment \(join.roomSegment)")
            precondition((try? RoomID(parsing: room.description)) == room)
        }
        guard let user = join.user else { return }
        guard let encoded = user.addingPercentEncoding(withAllowedCharacters: unreserved) else {
            preconditionFailure("cannot percent-encode \(user.debugDescription)")
        }
        let again = JoinRequest(uri: "/v1/chatrooms/1/join?user=" + encoded)
        precondition(again?.user == user, "\(user.debugDescription) encoded as \(encoded) reads back as \(String(describing: again?.user))")
        if let name = try? UserName(validating: user) {
            checkRules(name)
        }
    }

    static func checkRules(_ name: UserName) {
        let scalars = name.rawValue.unicodeScalars
        precondition((1...UserName.maximumLength).contains(scalars.count), "name of \(scalars.count) scalars")
        for scalar in scalars {
            let category = scalar.properties.generalCategory
            precondition(category != .control && category != .lineSeparator && category != .paragraphSeparator, "\(scalar.value) in a name")
            precondition(!(0x202A...0x202E).contains(scalar.value) && !(0x2066...0x2069).contains(scalar.value), "bidi override in a name")
        }
        precondition(!scalars.first!.properties.isWhitespace && !scalars.last!.properties.isWhitespace, "white space at the edge of a name")
        let json = try! JSONEncoder().encode([name])
        precondition((try? JSONDecoder().decode([UserName].self, from: json)) == [name], "\(name.rawValue.debugDescription) does not survive JSON")
    }
}
