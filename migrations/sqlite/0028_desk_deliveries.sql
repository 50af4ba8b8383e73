-- How each desk message reaches the client's people (issue 13). `suggested` is why the
-- urgency rules suggested urgent (null: they did not); `in_hours` whether the client was in
-- business hours when it was taken. One delivery per method and recipient: an email or a text
-- (its state is the outbound message's, `outbound_id`), a place in a daily recap (`due_at`,
-- the recap's instant; `outbound_id` the recap email once it is queued), or held for
-- check-in, or a secure message (`outbound_id` the "you have a new message" notice, `read_at`
-- when the recipient opened it in their inbox). A delivery that could not be attempted is
-- `skipped` with the reason in `detail`.
alter table desk_messages add column suggested text;
alter table desk_messages add column in_hours bigint not null default 1;

create table desk_deliveries (
    id integer primary key,
    org_id bigint not null references orgs(id),
    message_id bigint not null references desk_messages(id),
    method text not null check (method in ('email', 'text', 'recap', 'check_in', 'secure')),
    contact_id bigint,
    recipient text not null,
    address text,
    status text not null check (status in ('queued', 'waiting', 'skipped', 'sent')),
    detail text,
    outbound_id bigint references messages(id),
    due_at bigint,
    read_at bigint,
    created_by text not null,
    created_at bigint not null
);
create index desk_deliveries_message on desk_deliveries (message_id);
create index desk_deliveries_recap on desk_deliveries (org_id, contact_id, due_at) where status = 'waiting';
