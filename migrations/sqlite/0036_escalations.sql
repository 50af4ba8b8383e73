-- Urgent escalation (issue 15). An urgent desk message whose caller type has an urgent flow
-- runs one escalation: `policy` is the flow as it was when the message was taken (JSON), and
-- `round`/`step`/`version` where it stands (every change bumps `version`; its timers carry the
-- version they were set for, so a stale one does nothing). `state`: escalating, confirmed,
-- exhausted. Every attempt and answer is a row of `escalation_events` (the timeline); each
-- person sent a text or an email about it is a row of `escalation_codes` (their acknowledgement
-- link points at it; `version`: the escalation's version when they were last sent it, so their
-- Pass moves on only from the step that reached them), and those texted for a confirmation hold
-- a reply code (per organization and number, unique among that number's open escalations).
create table escalations (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    message_id bigint not null references desk_messages(id),
    policy text not null,
    state text not null check (state in ('escalating', 'confirmed', 'exhausted')),
    round bigint not null,
    step bigint not null,
    version bigint not null,
    reached bigint not null default 0,
    started_at bigint not null,
    ended_at bigint,
    confirmed_by text,
    confirmed_how text,
    confirmed_note text
);
create unique index escalations_message on escalations (message_id);
create index escalations_open on escalations (org_id, state);

create table escalation_events (
    id integer primary key,
    org_id bigint not null references orgs(id),
    escalation_id bigint not null references escalations(id),
    at bigint not null,
    round bigint not null,
    step bigint not null,
    kind text not null,
    action text,
    target text,
    person text,
    address text,
    detail text,
    sms_id bigint
);
create index escalation_events_of on escalation_events (escalation_id, id);

create table escalation_codes (
    id integer primary key,
    org_id bigint not null references orgs(id),
    escalation_id bigint not null references escalations(id),
    address text not null,
    person text not null,
    code bigint,
    open bigint not null default 1,
    version bigint not null default 0,
    created_at bigint not null
);
create index escalation_codes_address on escalation_codes (org_id, address, open);
create unique index escalation_codes_once on escalation_codes (escalation_id, address);

-- Voice attempts: each call an escalation step places, the provider's call id once placed,
-- its last status (and the callback sequence it came with, so a late callback never moves it
-- back), how it was answered (a person, a machine) and the key pressed.
create table escalation_calls (
    id integer primary key,
    org_id bigint not null references orgs(id),
    escalation_id bigint not null references escalations(id),
    round bigint not null,
    step bigint not null,
    version bigint not null,
    action text not null,
    person text not null,
    address text not null,
    call_sid text,
    status text not null,
    sequence bigint not null default -1,
    answered_by text,
    created_at bigint not null,
    updated_at bigint not null
);
create index escalation_calls_of on escalation_calls (escalation_id);
create unique index escalation_calls_sid on escalation_calls (call_sid);
