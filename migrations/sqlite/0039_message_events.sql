-- Every step an outbound text or email takes after it is queued (sending, sent, delivered,
-- undelivered, failed, suppressed), with when (issue 13: a desk message's timeline shows each
-- attempt's steps). Written by the database itself on every change of status, in the same
-- transaction, so no path that moves a message on can forget it.
create table message_events (
    id integer primary key,
    message_id bigint not null references messages(id),
    status text not null,
    at bigint not null,
    detail text
);
create index message_events_message on message_events (message_id, id);
create trigger message_events_on_status after update of status on messages
when new.direction = 'outbound' and old.status is not new.status
begin
    insert into message_events (message_id, status, at, detail)
    values (new.id, new.status, new.updated_at, case when new.status in ('failed', 'undelivered') then new.error_message end);
end;
