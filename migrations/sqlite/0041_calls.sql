-- Phone calls (issue 17). A call to a brand's number is answered by the brand's routing:
-- `strategy` parallel (one Dial ringing everyone), round_robin (a hunt whose first person
-- rotates: `next_start` moves on with every call, in the database, so every instance shares
-- it) or linear (a hunt in `call_ring_members.position` order), each person rung for
-- `ring_seconds`; after hours (outside the brand's working hours) `after_hours` sends the call to
-- voicemail, to whoever is on call for `after_hours_schedule` (their cells at once, or one by
-- one while the caller holds: the live patch), or to the same ring group.
-- A user's `ring_mode`: browser (the softphone), cell (their `cell_phone`, with a "press 1"
-- whisper), or both.
alter table users add column cell_phone text;
alter table users add column ring_mode text not null default 'both'
    check (ring_mode in ('browser', 'cell', 'both'));

create table call_routing (
    brand_id bigint primary key references brands(id),
    org_id bigint not null references orgs(id),
    strategy text not null check (strategy in ('parallel', 'round_robin', 'linear')),
    ring_seconds bigint not null check (ring_seconds between 5 and 120),
    record_calls bigint not null,
    consent_notice bigint not null,
    greeting text not null,
    after_hours text not null check (after_hours in ('voicemail', 'oncall', 'patch', 'ring')),
    after_hours_schedule bigint references oncall_schedules(id),
    next_start bigint not null default 0,
    updated_at bigint not null
);

create table call_ring_members (
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    user_id bigint not null references users(id),
    position bigint not null,
    primary key (brand_id, user_id)
);

-- One row per call. `plan` is the hunt decided when the call came in (JSON: steps of legs), so
-- each "nobody answered" webhook moves to the next step of the same plan. `outcome`:
-- answered, voicemail, missed (null while it rings). `handled_by` is who pressed 1 or picked up
-- in the browser.
create table voice_calls (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    direction text not null check (direction in ('inbound', 'outbound')),
    provider_sid text not null unique,
    from_number text not null,
    to_number text not null,
    customer_id bigint references customers(id),
    lead_id bigint references leads(id),
    status text not null,
    outcome text check (outcome in ('answered', 'voicemail', 'missed')),
    handled_by bigint references users(id),
    answered_number text,
    plan text not null,
    step bigint not null default 0,
    -- `hunt` (the routing's steps ring in turn) or `patch` (the caller holds in a conference
    -- room while the plan's people are called one by one).
    mode text not null default 'hunt' check (mode in ('hunt', 'patch')),
    transcript text,
    started_at bigint not null,
    answered_at bigint,
    ended_at bigint,
    duration_secs bigint
);
create index voice_calls_org on voice_calls (org_id, started_at);
create index voice_calls_customer on voice_calls (org_id, customer_id);

-- A recording of a call (the conversation, both sides) or a voicemail, copied from the
-- provider into our own storage (`storage_key`) by the `calls.fetch_recording` work item.
create table call_recordings (
    id integer primary key,
    org_id bigint not null references orgs(id),
    call_id bigint not null references voice_calls(id),
    provider_sid text not null unique,
    kind text not null check (kind in ('call', 'voicemail')),
    media_url text not null,
    channels bigint not null,
    duration_secs bigint not null,
    status text not null check (status in ('fetching', 'stored', 'failed')),
    storage_key text,
    size_bytes bigint,
    created_at bigint not null,
    stored_at bigint
);
create index call_recordings_call on call_recordings (call_id);

alter table lead_messages add column call_id bigint references voice_calls(id);
