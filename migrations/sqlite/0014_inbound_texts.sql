-- Inbound texts exactly as the provider delivered them, stored (by group commit) before the
-- webhook is acknowledged; the engine's router then decides what each one is (a consent
-- keyword, a lead's message, ...) in arrival order, once.
create table inbound_texts (
    id integer primary key,
    provider text not null,
    provider_id text not null,
    from_addr text not null,
    to_addr text not null,
    body text not null,
    received_at bigint not null,
    -- Set when the router has dealt with it (route_error says why it could not).
    routed_at bigint,
    route_error text
);
create unique index inbound_texts_provider_id on inbound_texts (provider, provider_id);
create index inbound_texts_unrouted on inbound_texts (id) where routed_at is null;
