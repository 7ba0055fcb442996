/// The rules a password must meet: 8 to 72 bytes of UTF-8. bcrypt reads only the first 72
/// bytes, so a longer one would be silently cut short; shorter than 8 is too easy to guess.
public enum Password {
    public static let allowedBytes = 8...72

    public static func validate(_ password: String) throws(ChatError) {
        guard allowedBytes.contains(password.utf8.count) else {
            throw .invalidPassword("it must be \(allowedBytes.lowerBound) to \(allowedBytes.upperBound) bytes long")
        }
    }
}
