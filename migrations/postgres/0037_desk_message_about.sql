-- What an urgent desk message is about (issue 15): a job or a lead of the client's, when the
-- operator took it from one. A technician who accepts the message from their link can then
-- take the job (or the lead, made a job) and head out, which tells the customer as usual.
alter table desk_messages add column job_id bigint references jobs(id);
alter table desk_messages add column lead_id bigint references leads(id);
