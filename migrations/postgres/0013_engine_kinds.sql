-- The engine for urgent work: priorities, groups that can be cancelled together, fences
-- (versions of the thing an item acts for) and a 'canceled' state.

alter table work_items drop constraint work_items_status_check;
alter table work_items add constraint work_items_status_check
    check (status in ('pending', 'running', 'done', 'dead', 'canceled'));
-- 0 urgent, 1 routine: lower is claimed first among items that are due.
alter table work_items add column priority bigint not null default 1 check (priority in (0, 1));
-- Items of one thing (an escalation, an invoice) that can be cancelled together.
alter table work_items add column group_key text;
-- The version of the thing the item was queued for; see `fences`.
alter table work_items add column fence_name text;
alter table work_items add column fence_version bigint;

drop index work_items_pending;
-- Unique where set: items without a key cost no entry here (inserted and updated at every claim
-- and completion otherwise).
alter table work_items drop constraint work_items_idempotency_key_key;
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
