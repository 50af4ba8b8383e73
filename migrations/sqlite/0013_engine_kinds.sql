-- no-transaction
-- The engine for urgent work: priorities, groups that can be cancelled together, fences
-- (versions of the thing an item acts for) and a 'canceled' state.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt with the same ids,
-- the way SQLite's documentation describes (section 7 of lang_altertable): foreign keys off
-- (messages.work_item_id points at these rows), one transaction, checked before the commit.
pragma foreign_keys = off;
begin immediate;

create table work_items_new (
    id integer primary key,
    org_id bigint references orgs(id),
    kind text not null,
    payload text not null,
    status text not null check (status in ('pending', 'running', 'done', 'dead', 'canceled')),
    -- 0 urgent, 1 routine: lower is claimed first among items that are due.
    priority bigint not null default 1 check (priority in (0, 1)),
    due_at bigint not null,
    attempts bigint not null,
    max_attempts bigint not null,
    lease_owner text,
    lease_expires_at bigint,
    idempotency_key text,
    -- Items of one thing (an escalation, an invoice) that can be cancelled together.
    group_key text,
    -- The version of the thing the item was queued for; see `fences`.
    fence_name text,
    fence_version bigint,
    last_error text,
    result text,
    started_at bigint,
    finished_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);
insert into work_items_new (id, org_id, kind, payload, status, priority, due_at, attempts, max_attempts,
    lease_owner, lease_expires_at, idempotency_key, last_error, result, started_at, finished_at, created_at, updated_at)
select id, org_id, kind, payload, status, 1, due_at, attempts, max_attempts,
    lease_owner, lease_expires_at, idempotency_key, last_error, result, started_at, finished_at, created_at, updated_at
from work_items;
drop table work_items;
alter table work_items_new rename to work_items;

-- Unique where set: items without a key cost no entry here (inserted and updated at every claim
-- and completion otherwise).
create unique index work_items_key on work_items (idempotency_key) where idempotency_key is not null;
create index work_items_due on work_items (priority, due_at, id) where status = 'pending';
create index work_items_leases on work_items (lease_expires_at) where status = 'running';
create index work_items_group on work_items (group_key) where group_key is not null and status in ('pending', 'running');
-- The admin page lists an organization's stopped work.
create index work_items_dead on work_items (org_id, updated_at) where status = 'dead';

-- A fence per thing that work acts for: its current version. Work queued for an older version
-- lost a race (a confirmed escalation, a paid invoice) and must do nothing.
create table fences (
    name text primary key,
    version bigint not null
);

-- Per-number pacing has two lanes: urgent texts are paced only among themselves and push the
-- routine lane back, so an urgent text never waits behind routine ones from the same number.
alter table sender_slots add column urgent_next_at bigint not null default 0;

commit;
pragma foreign_keys = on;
