-- The leads inbox: every inbound contact, threaded per person and brand until converted.

create table leads (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    source text not null check (source in ('sms', 'web', 'email', 'call')),
    status text not null check (status in ('new', 'contacted', 'converted', 'archived')),
    name text,
    phone text,
    email text,
    address text,
    service text,
    job_id bigint references jobs(id),
    converted_by bigint references users(id),
    converted_at bigint,
    unread integer not null,
    last_message_at bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index leads_org_recent on leads (org_id, last_message_at);
-- One open thread per number per brand: later texts join it instead of opening new leads.
create unique index leads_open_phone on leads (brand_id, phone) where phone is not null and status in ('new', 'contacted');
create index leads_open_email on leads (brand_id, email);

create table lead_messages (
    id integer primary key,
    org_id bigint not null references orgs(id),
    lead_id bigint not null references leads(id) on delete cascade,
    direction text not null check (direction in ('inbound', 'outbound')),
    channel text not null check (channel in ('sms', 'email', 'web', 'call')),
    subject text,
    body text not null,
    message_id bigint references messages(id),
    author_id bigint references users(id),
    fields text,
    at bigint not null
);
create index lead_messages_lead on lead_messages (lead_id, at);
