-- Shift swaps (issue 14): someone (`from_member`) offers a stretch of their time on call;
-- another takes it (or an admin assigns it), and while accepted it trades that stretch to
-- `to_member`. An offer can be withdrawn before it is taken, and a taker can give it back
-- (it is offered again). Every step is kept in `oncall_swap_events` with who and when.
create table oncall_swaps (
    id integer primary key,
    org_id bigint not null references orgs(id),
    schedule_id bigint not null references oncall_schedules(id),
    start_at bigint not null,
    end_at bigint not null,
    from_member text not null,
    to_member text,
    status text not null check (status in ('offered', 'accepted', 'withdrawn')),
    note text,
    created_at bigint not null,
    updated_at bigint not null
);
create index oncall_swaps_schedule on oncall_swaps (schedule_id, end_at);

create table oncall_swap_events (
    id integer primary key,
    org_id bigint not null references orgs(id),
    swap_id bigint not null references oncall_swaps(id),
    action text not null check (action in ('offered', 'taken', 'assigned', 'withdrawn', 'given_back')),
    member text,
    actor text not null,
    at bigint not null
);
create index oncall_swap_events_swap on oncall_swap_events (swap_id);
