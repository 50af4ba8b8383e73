-- The durable engine's work items, and the messages it sends and receives.

create table work_items (
    id integer primary key,
    org_id bigint references orgs(id),
    kind text not null,
    payload text not null,
    status text not null check (status in ('pending', 'running', 'done', 'dead')),
    due_at bigint not null,
    attempts bigint not null,
    max_attempts bigint not null,
    lease_owner text,
    lease_expires_at bigint,
    idempotency_key text unique,
    last_error text,
    result text,
    started_at bigint,
    finished_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);
create index work_items_pending on work_items (status, due_at);

-- One row per sender (phone number or email address): the earliest time it may send again.
create table sender_slots (
    sender text primary key,
    next_at bigint not null
);

create table messages (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint references brands(id),
    channel text not null check (channel in ('sms', 'email')),
    direction text not null check (direction in ('outbound', 'inbound')),
    from_addr text not null,
    to_addr text not null,
    subject text,
    body text not null,
    status text not null check (status in
        ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'suppressed', 'received')),
    provider text,
    provider_id text,
    error_code text,
    error_message text,
    work_item_id bigint references work_items(id),
    created_at bigint not null,
    updated_at bigint not null
);
create unique index messages_provider_id on messages (provider, provider_id) where provider_id is not null;
create index messages_org_to on messages (org_id, to_addr, created_at);
create index messages_org_from on messages (org_id, from_addr, created_at);

-- A number that texted STOP to a brand: never texted by that brand until START.
create table opt_outs (
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    phone text not null,
    created_at bigint not null,
    primary key (brand_id, phone)
);

-- What a brand texts back to HELP (a default is used when empty).
alter table brands add column sms_help_reply text;

-- Inbound texts are routed by the number they were sent to: one brand per number.
create unique index brands_sms_number on brands (sms_number) where sms_number is not null;
