-- The seed's schema: users, chat rooms, and which user is in which room.
--
-- utf8mb4 throughout. User names compare exactly (utf8mb4_bin): "Ann" and "ann" are two users,
-- as the API promises, and VARCHAR(32) counts code points, the UserName limit. Ids are BIGINT
-- (the seed's INT widened; RoomID is 64-bit). Every statement is idempotent, so a migration
-- cut off halfway (DDL commits as it goes) can simply run again.

CREATE TABLE IF NOT EXISTS users (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY users_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS chatrooms (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS chatroom_users (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    chatroom BIGINT UNSIGNED NOT NULL,
    `user` BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY chatroom_users_membership (chatroom, `user`),
    KEY chatroom_users_user (`user`),
    CONSTRAINT chatroom_users_chatroom FOREIGN KEY (chatroom) REFERENCES chatrooms (id) ON DELETE CASCADE,
    CONSTRAINT chatroom_users_user FOREIGN KEY (`user`) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
