-- Arrival tracking links for customers: the token is never stored, only its SHA-256. A link
-- works while its job is open.
create table tracking_tokens (
    id integer primary key,
    org_id bigint not null references orgs(id),
    job_id bigint not null references jobs(id) on delete cascade,
    token_hash text not null unique,
    created_at bigint not null
);
create index tracking_tokens_job on tracking_tokens (job_id);
