-- A message is taken once however often its form is sent (issue 13): the operator's form
-- carries a key made when it was shown, an API client may send an Idempotency-Key; a second
-- submission with the same key gets the message the first one stored, and nothing is
-- delivered twice.
alter table desk_messages add column submit_key text;
create unique index desk_messages_submit_key on desk_messages (org_id, submit_key) where submit_key is not null;
