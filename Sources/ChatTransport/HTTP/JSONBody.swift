import Foundation
import HTTPTypes
import Hummingbird

/// The one rule for request bodies: they are JSON.
enum JSONBody {
    /// Throws 415 unless the request says its body is `application/json` (parameters such
    /// as `charset` allowed). HTML forms cannot send that type cross-site without a CORS
    /// preflight, which this server never grants.
    static func requireJSONContentType(_ request: Request) throws {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw APIError(
                .unsupportedMediaType,
                "request body must be JSON: send Content-Type: application/json (got \(type.map { "'\($0)'" } ?? "none"))"
            )
        }
    }
}
