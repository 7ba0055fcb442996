import Foundation

/// One versioned schema change: a file `NNNN_description.sql` under `migrations/mariadb/`.
///
/// The number orders migrations and is what `schema_migrations` records; the description is
/// for people. Files hold plain SQL statements separated by `;`, each run as its own prepared
/// statement (MariaDB prepares DDL too), so no multi-statement mode is ever switched on.
public struct MariaDBMigration: Sendable, Hashable, CustomStringConvertible {
    public let version: Int
    public let name: String
    public let statements: [String]

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.statements = Self.split(sql)
    }

    /// The file name without `.sql`, as the operator sees it in the directory.
    public var description: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name
    }

    /// A migration file that cannot be used, with the reason.
    public struct InvalidFile: Error, CustomStringConvertible {
        public let description: String
    }

    /// Every `NNNN_*.sql` file of `directory`, ascending by version. Other files are ignored
    /// (a README may sit beside them); two files with one version are an error.
    public static func load(from directory: String) throws -> [MariaDBMigration] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw InvalidFile(description: "cannot read the MariaDB migrations directory '\(directory)': \(error.localizedDescription)")
        }
        var migrations: [MariaDBMigration] = []
        for file in files where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw InvalidFile(description: "migration file '\(file)' must be named NNNN_description.sql")
            }
            let path = (directory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InvalidFile(description: "cannot read migration file '\(path)'")
            }
            let migration = MariaDBMigration(
                version: version, name: String(stem[stem.index(after: underscore)...]), sql: String(decoding: data, as: UTF8.self)
            )
            guard !migration.statements.isEmpty else { throw InvalidFile(description: "migration file '\(path)' holds no statement") }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw InvalidFile(description: "migrations '\(clash)' and '\(migration)' share version \(version)")
            }
            migrations.append(migration)
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Splits SQL text at `;` outside quotes and comments, dropping comments and empty parts.
    static func split(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var quote: Character?
        var iterator = Array(sql).makeIterator()
        var pending: Character?
        func next() -> Character? {
            if let character = pending { pending = nil; return character }
            return iterator.next()
        }
        while let character = next() {
            if let open = quote {
                current.append(character)
                if character == "\\" && open != "`", let escaped = next() {
                    current.append(escaped)
                } else if character == open {
                    quote = nil
                }
                continue
            }
            switch character {
            case "'", "\"", "`":
                quote = character
                current.append(character)
            case "#":
                while let skipped = next(), skipped != "\n" {}
                current.append("\n")
            case "-":
                let following = next()
                if following == "-" {
                    while let skipped = next(), skipped != "\n" {}
                    current.append("\n")
                } else {
                    current.append(character)
                    pending = following
                }
            case ";":
                statements.append(current)
                current = ""
            default:
                current.append(character)
            }
        }
        statements.append(current)
        return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}
