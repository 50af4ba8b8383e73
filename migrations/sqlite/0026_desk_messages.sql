-- Messages the desk takes (issue 13): the caller type and the answers as read (JSON: key,
-- label, value, in the protocol's order), the protocol version they were taken under, the
-- operator's urgency, and the delivery state. Held for check-in until the client retrieves
-- it; delivery rules add their own states.
create table desk_messages (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    protocol_version bigint not null,
    caller_type text not null,
    caller_type_name text not null,
    answers text not null,
    urgent bigint not null default 0,
    urgent_reason text,
    status text not null check (status in ('held', 'retrieved')),
    taken_by text not null,
    taken_at bigint not null,
    retrieved_by text,
    retrieved_at bigint
);
create index desk_messages_board on desk_messages (org_id, taken_at);
