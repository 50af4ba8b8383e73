-- Every change to a job counts up its version; an edit made against an older one is refused
-- as stale (who changed it and when come from job_events).
alter table jobs add column version bigint not null default 1;
