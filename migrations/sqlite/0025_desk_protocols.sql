-- The message desk (issue 13): each client is a brand (docs/adr/0006-clients-are-brands.md)
-- with a protocol, saved as a new version each time so a message keeps the version it was
-- taken under. `document` is the protocol as JSON (answer phrase, account notes, caller types
-- with their fields), checked by the application before it is stored.
create table desk_protocols (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    version bigint not null,
    document text not null,
    saved_by text not null,
    saved_at bigint not null,
    unique (brand_id, version)
);
create index desk_protocols_org on desk_protocols (org_id, brand_id);
