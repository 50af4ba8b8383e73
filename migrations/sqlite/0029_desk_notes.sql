-- Notes an operator adds to a desk message (issue 13): "Called back, no answer", "Client asked
-- us to resend to the cell". Shown in the message's timeline with who and when.
create table desk_notes (
    id integer primary key,
    org_id bigint not null references orgs(id),
    message_id bigint not null references desk_messages(id),
    body text not null,
    created_by text not null,
    created_at bigint not null
);
create index desk_notes_message on desk_notes (message_id);
