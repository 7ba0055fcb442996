import ChatCore
import Foundation
import Testing

@Suite struct UserNameTests {
    @Test(arguments: ["John", "Master", "Zoë", "李小龍", "a", "Ann Lee", "🙂", "O'Brien", String(repeating: "x", count: 32)])
    func acceptsOrdinaryNames(_ raw: String) throws {
        #expect(try UserName(validating: raw).rawValue == raw)
    }

    @Test(arguments: [
        ("", "empty"), (String(repeating: "x", count: 33), "at most 32"), ("a\u{0}b", "control"), ("tab\there", "control"),
        ("new\nline", "control"), ("del\u{7F}", "control"), ("c1\u{85}", "control"), ("line\u{2028}sep", "line breaks"),
        ("evil\u{202E}txt", "bidirectional"), ("iso\u{2066}late", "bidirectional"), (" John", "white space"),
        ("John ", "white space"), ("\u{200B}John", "invisible"), ("priv\u{E000}", "private-use"),
    ])
    func rejectsBadNamesWithAReason(_ raw: String, _ reason: String) {
        #expect {
            try UserName(validating: raw)
        } throws: { error in
            guard case .invalidUserName(let message) = error as? ChatError else { return false }
            return message.contains(reason)
        }
    }

    @Test func countsUnicodeScalarsLikeVarchar() throws {
        // 32 scalars of two UTF-8 bytes each: within varchar(32) in utf8mb4.
        #expect(throws: Never.self) { try UserName(validating: String(repeating: "é", count: 32)) }
        #expect(throws: ChatError.self) { try UserName(validating: String(repeating: "é", count: 33)) }
    }

    @Test func decodingValidates() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(UserName.self, from: Data(#""bad\u0000""#.utf8)) }
    }
}

@Suite struct RoomIDTests {
    @Test(arguments: ["1", "7", "9000000000000000"])
    func parsesPositiveDecimals(_ text: String) throws {
        #expect(try RoomID(parsing: text).description == text)
    }

    /// "007" and "01": found by FuzzJoinRequest (a room id must print back as the segment it came from).
    @Test(arguments: ["", "0", "-1", "+7", " 7", "7 ", "abc", "1e3", "0x10", "99999999999999999999", "７", "007", "01"])
    func rejectsEverythingElse(_ text: String) {
        #expect(throws: ChatError.invalidRoomID(text)) { try RoomID(parsing: text) }
    }
}

@Suite struct ChatMessageTests {
    @Test func encodesTheSeedWireNames() throws {
        let message = ChatMessage(room: RoomID(7), user: UserName(trusted: "John"), text: "hi", timestamp: 1_732_860_000_000, seq: 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(message), as: UTF8.self)
        #expect(json == #"{"chatroom":7,"message":"hi","seq":3,"timestamp":1732860000000,"user":"John"}"#)
        #expect(try JSONDecoder().decode(ChatMessage.self, from: Data(json.utf8)) == message)
    }
}
