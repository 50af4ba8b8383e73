-- On-call schedules (issue 14). A schedule belongs to a client (brand) and runs in its time
-- zone. Its layers are kept in order (`position`; later ones take precedence), each a
-- rotation: `members` a JSON list of "user:ID" / "contact:ID" in turn order, a shift of
-- `shift_count` `shift_unit`s, the first shift beginning at `start_local` (a local date and
-- time, 2026-11-02T08:00), on only within `windows` when it has any (JSON: days, start, end).
-- Overrides replace, add or remove someone for a time range (UTC milliseconds), in the order
-- they were made; a removed override keeps its row with `removed_at`.
create table oncall_schedules (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    name text not null,
    version bigint not null default 1,
    created_at bigint not null,
    updated_at bigint not null
);
create unique index oncall_schedules_name on oncall_schedules (org_id, brand_id, name);

create table oncall_layers (
    id integer primary key,
    org_id bigint not null references orgs(id),
    schedule_id bigint not null references oncall_schedules(id),
    position bigint not null,
    name text not null,
    members text not null,
    shift_unit text not null check (shift_unit in ('hours', 'days', 'weeks')),
    shift_count bigint not null check (shift_count >= 1),
    start_local text not null,
    windows text not null
);
create index oncall_layers_schedule on oncall_layers (schedule_id, position);

create table oncall_overrides (
    id integer primary key,
    org_id bigint not null references orgs(id),
    schedule_id bigint not null references oncall_schedules(id),
    start_at bigint not null,
    end_at bigint not null,
    action text not null check (action in ('replace', 'add', 'remove')),
    from_member text,
    to_member text,
    note text,
    created_by text not null,
    created_at bigint not null,
    removed_at bigint
);
create index oncall_overrides_schedule on oncall_overrides (schedule_id, end_at);
