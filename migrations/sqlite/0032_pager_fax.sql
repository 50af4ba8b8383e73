-- no-transaction
-- Desk deliveries by pager and fax (issue 13). A page goes to an email-to-pager address (an
-- outbound email, `outbound_id`) or over SNPP to a paging server (no outbound message: the
-- delivery itself is `queued`, then `sent` or `failed` with the server's answer in
-- `detail`). A fax is an email to a fax gateway with the message as a PDF attachment, kept in
-- `message_attachments` (base64) beside the outbound message. SQLite cannot change a CHECK
-- constraint in place, so desk_deliveries is rebuilt (foreign keys off, copy, drop, rename).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE desk_deliveries_new (
    id integer primary key,
    org_id bigint not null references orgs(id),
    message_id bigint not null references desk_messages(id),
    method text not null check (method in ('email', 'text', 'recap', 'check_in', 'secure', 'pager', 'fax')),
    contact_id bigint,
    recipient text not null,
    address text,
    status text not null check (status in ('queued', 'waiting', 'skipped', 'sent', 'failed')),
    detail text,
    outbound_id bigint references messages(id),
    due_at bigint,
    read_at bigint,
    created_by text not null,
    created_at bigint not null
);
INSERT INTO desk_deliveries_new (id, org_id, message_id, method, contact_id, recipient, address, status, detail,
        outbound_id, due_at, read_at, created_by, created_at)
    SELECT id, org_id, message_id, method, contact_id, recipient, address, status, detail,
        outbound_id, due_at, read_at, created_by, created_at FROM desk_deliveries;
DROP TABLE desk_deliveries;
ALTER TABLE desk_deliveries_new RENAME TO desk_deliveries;
CREATE INDEX desk_deliveries_message ON desk_deliveries (message_id);
CREATE INDEX desk_deliveries_recap ON desk_deliveries (org_id, contact_id, due_at) WHERE status = 'waiting';

CREATE TABLE message_attachments (
    id integer primary key,
    org_id bigint not null references orgs(id),
    message_id bigint not null references messages(id),
    filename text not null,
    content_type text not null,
    content text not null
);
CREATE INDEX message_attachments_message ON message_attachments (message_id);
COMMIT;
PRAGMA foreign_keys = ON;
