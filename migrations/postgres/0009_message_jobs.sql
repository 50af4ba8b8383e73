-- Messages sent about a job (customer notifications) point at it, so the job shows their
-- delivery status.
alter table messages add column job_id bigint references jobs(id);
create index messages_job on messages (job_id);
