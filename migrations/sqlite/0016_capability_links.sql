-- One table for every link that lets someone in without a sign-in (a technician's portal, a
-- customer's tracking page; acknowledgement links, calendar feeds and inbox links next). The
-- token is never stored, only its SHA-256; a link belongs to one scope and one subject (the
-- technician, the job), may expire, and may be revoked. Existing links keep working.
create table capability_links (
    id integer primary key,
    org_id bigint not null references orgs(id),
    scope text not null,
    subject_id bigint not null,
    about_id bigint,
    token_hash text not null unique,
    created_at bigint not null,
    expires_at bigint,
    revoked_at bigint
);
create index capability_links_subject on capability_links (org_id, scope, subject_id);

insert into capability_links (org_id, scope, subject_id, about_id, token_hash, created_at, expires_at, revoked_at)
select org_id, 'portal', technician_id, null, token_hash, created_at, expires_at, revoked_at from portal_tokens;
insert into capability_links (org_id, scope, subject_id, about_id, token_hash, created_at, expires_at, revoked_at)
select org_id, 'tracking', job_id, technician_id, token_hash, created_at, null, null from tracking_tokens;

drop table portal_tokens;
drop table tracking_tokens;
