-- no-transaction
-- The message desk's clients sign in (issue 13): a user's role may be `client`, someone at an
-- answering service's client who sees only the messages of the clients (brands) they are a
-- desk contact of. SQLite cannot change a CHECK constraint in place, so the users table is
-- rebuilt (SQLite's documented procedure: foreign keys off, copy, drop, rename, check, on).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_new (
    id integer primary key,
    org_id bigint not null references orgs(id),
    email text not null unique,
    name text not null,
    role text not null check (role in ('admin', 'dispatcher', 'operator', 'technician', 'client')),
    password_hash text,
    active integer not null,
    created_at bigint not null,
    updated_at bigint not null
);
INSERT INTO users_new (id, org_id, email, name, role, password_hash, active, created_at, updated_at)
    SELECT id, org_id, email, name, role, password_hash, active, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_org ON users (org_id);
COMMIT;
PRAGMA foreign_keys = ON;
