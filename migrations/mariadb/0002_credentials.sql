-- Credentials of `--auth token`: access tokens and passwords, only as hashes.
--
-- A token is a random 256-bit secret shown to its user once; the table keeps its SHA-256
-- (64 lower-case hex digits) and looks it up by that. A password is kept as a bcrypt string.
-- Both reference the user and vanish with them (DELETE /v1/users). Idempotent, as 0001.

CREATE TABLE IF NOT EXISTS user_tokens (
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    `user` BIGINT UNSIGNED NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (token_hash),
    KEY user_tokens_user (`user`),
    CONSTRAINT user_tokens_user FOREIGN KEY (`user`) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS user_passwords (
    `user` BIGINT UNSIGNED NOT NULL,
    password_hash VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (`user`),
    CONSTRAINT user_passwords_user FOREIGN KEY (`user`) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
