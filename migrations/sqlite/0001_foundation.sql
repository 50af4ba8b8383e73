-- Organizations, brands, people, sessions, API keys, customers and jobs.
-- Conventions: ids are 64-bit integers, times are UTC milliseconds since the epoch (bigint),
-- booleans are integers 0/1, money is integer minor units, enums are text with a check.
create table orgs (
    id integer primary key,
    slug text not null unique,
    name text not null,
    created_at bigint not null
);

create table brands (
    id integer primary key,
    org_id bigint not null references orgs(id),
    name text not null,
    time_zone text not null,
    sms_number text,
    inbound_email text unique,
    color text not null,
    logo_url text,
    job_prefix text not null,
    next_job_number bigint not null,
    created_at bigint not null,
    updated_at bigint not null,
    unique (org_id, name)
);
create index brands_org on brands (org_id);

create table users (
    id integer primary key,
    org_id bigint not null references orgs(id),
    email text not null unique,
    name text not null,
    role text not null check (role in ('admin', 'dispatcher', 'operator', 'technician')),
    password_hash text,
    active integer not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index users_org on users (org_id);

create table sessions (
    id integer primary key,
    token_hash text not null unique,
    org_id bigint not null references orgs(id),
    user_id bigint not null references users(id) on delete cascade,
    csrf_token text not null,
    brand_id bigint references brands(id) on delete set null,
    created_at bigint not null,
    expires_at bigint not null
);
create index sessions_user on sessions (user_id);

create table api_keys (
    id integer primary key,
    org_id bigint not null references orgs(id),
    name text not null,
    prefix text not null,
    key_hash text not null unique,
    created_at bigint not null,
    last_used_at bigint,
    revoked_at bigint
);
create index api_keys_org on api_keys (org_id);

create table technicians (
    id integer primary key,
    org_id bigint not null references orgs(id),
    user_id bigint references users(id) on delete set null,
    name text not null,
    phone text,
    photo_url text,
    rating_x10 bigint check (rating_x10 is null or (rating_x10 >= 0 and rating_x10 <= 50)),
    vehicle text,
    active integer not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index technicians_org on technicians (org_id);

create table customers (
    id integer primary key,
    org_id bigint not null references orgs(id),
    name text not null,
    phone text,
    email text,
    address text,
    notes text,
    created_at bigint not null,
    updated_at bigint not null
);
create unique index customers_org_phone on customers (org_id, phone) where phone is not null;
create index customers_org_email on customers (org_id, email);

create table jobs (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    customer_id bigint not null references customers(id),
    number bigint not null,
    code text not null,
    service text not null,
    status text not null check (status in
        ('estimate', 'scheduled', 'dispatched', 'on_site', 'pending_close', 'completed', 'canceled')),
    address text,
    scheduled_start bigint,
    scheduled_end bigint,
    created_at bigint not null,
    updated_at bigint not null,
    unique (brand_id, number)
);
create index jobs_org_start on jobs (org_id, scheduled_start);

create table job_technicians (
    job_id bigint not null references jobs(id) on delete cascade,
    technician_id bigint not null references technicians(id),
    org_id bigint not null references orgs(id),
    assigned_at bigint not null,
    primary key (job_id, technician_id)
);
create index job_technicians_tech on job_technicians (technician_id);
