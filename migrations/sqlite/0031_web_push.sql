-- Web Push for secure inboxes (issue 13). `push_keys` holds this installation's VAPID key
-- (one row, made on first start: browsers bind their subscriptions to its public key, so it
-- must outlive restarts and be the same on every instance). `push_subscriptions`: the
-- browsers where a desk contact turned on notifications from their inbox link; the endpoint is
-- the browser's, `p256dh` and `auth` its keys (base64url). A secure message's notice goes
-- by push to these first; `desk_deliveries.status` is then `sent` with the count in `detail`.
create table push_keys (
    id bigint primary key check (id = 1),
    private_key text not null,
    public_key text not null,
    created_at bigint not null
);

create table push_subscriptions (
    id integer primary key,
    org_id bigint not null references orgs(id),
    contact_id bigint not null references desk_contacts(id) on delete cascade,
    endpoint text not null,
    p256dh text not null,
    auth text not null,
    user_agent text,
    created_at bigint not null,
    last_sent_at bigint,
    last_error text
);
create unique index push_subscriptions_endpoint on push_subscriptions (org_id, contact_id, endpoint);
