-- Everything a job carries beyond its summary: where exactly (coordinates, verified), notes
-- for the office and for the customer, line items, photos; portal links for technicians and
-- the last location they shared.

alter table jobs add column latitude_e6 bigint;
alter table jobs add column longitude_e6 bigint;
alter table jobs add column location_verified integer not null default 0;
alter table jobs add column internal_notes text;
alter table jobs add column customer_notes text;

-- When the technician was texted their portal link for this job (once per assignment).
alter table job_technicians add column notified_at bigint;

create table job_line_items (
    id integer primary key,
    org_id bigint not null references orgs(id),
    job_id bigint not null references jobs(id) on delete cascade,
    description text not null,
    quantity_x100 bigint not null check (quantity_x100 > 0),
    unit_price bigint not null check (unit_price >= 0),
    taxable integer not null,
    added_by text not null,
    created_at bigint not null
);
create index job_line_items_job on job_line_items (job_id);

create table job_photos (
    id integer primary key,
    org_id bigint not null references orgs(id),
    job_id bigint not null references jobs(id) on delete cascade,
    storage_key text not null unique,
    content_type text not null,
    size_bytes bigint not null,
    added_by text not null,
    created_at bigint not null
);
create index job_photos_job on job_photos (job_id);

-- Portal links: the token itself is never stored, only its SHA-256.
create table portal_tokens (
    id integer primary key,
    org_id bigint not null references orgs(id),
    technician_id bigint not null references technicians(id),
    token_hash text not null unique,
    created_at bigint not null,
    expires_at bigint not null,
    revoked_at bigint,
    last_used_at bigint
);
create index portal_tokens_tech on portal_tokens (technician_id);

alter table technicians add column last_lat_e6 bigint;
alter table technicians add column last_lon_e6 bigint;
alter table technicians add column last_accuracy_m bigint;
alter table technicians add column last_located_at bigint;
