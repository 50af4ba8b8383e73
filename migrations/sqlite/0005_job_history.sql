-- Every change to a job, who made it and when.
create table job_events (
    id integer primary key,
    org_id bigint not null references orgs(id),
    job_id bigint not null references jobs(id) on delete cascade,
    at bigint not null,
    actor text not null,
    kind text not null check (kind in ('created', 'status', 'assigned', 'edited', 'note')),
    from_status text,
    to_status text,
    note text
);
create index job_events_job on job_events (job_id, at);
