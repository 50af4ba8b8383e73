-- Service locations (issue 12): the places a customer has work done (a home, a rental unit,
-- a shop), each its own record with a label and access notes (gate code, dog in the yard).
-- A job points at the location it is for and keeps its own copy of the address as booked.
-- `address_key` is the address lowercased, trimmed of a final full stop or comma, with its spaces
-- collapsed (by the application; this backfill only trims): one location per address
-- per customer, however it was typed.
create table service_locations (
    id integer primary key,
    org_id bigint not null references orgs(id),
    customer_id bigint not null references customers(id) on delete cascade,
    label text,
    address text not null,
    address_key text not null,
    access_notes text,
    created_at bigint not null,
    updated_at bigint not null
);
create unique index service_locations_address on service_locations (customer_id, address_key);
create index service_locations_org on service_locations (org_id, customer_id);

alter table jobs add column service_location_id bigint references service_locations(id) on delete set null;

-- What was there: the customer's address and every address their jobs went to.
insert into service_locations (org_id, customer_id, address, address_key, created_at, updated_at)
select org_id, id, trim(address), lower(trim(rtrim(trim(address), '.,'))), created_at, updated_at
from customers where address is not null and trim(address) <> '';

-- Each other address as typed on the earliest job that went there.
insert into service_locations (org_id, customer_id, address, address_key, created_at, updated_at)
select j.org_id, j.customer_id, trim(j.address), lower(trim(rtrim(trim(j.address), '.,'))), j.created_at, j.created_at
from jobs j
where j.address is not null and trim(j.address) <> ''
  and not exists (select 1 from service_locations l
                  where l.customer_id = j.customer_id and l.address_key = lower(trim(rtrim(trim(j.address), '.,'))))
  and not exists (select 1 from jobs e
                  where e.customer_id = j.customer_id and e.address is not null
                    and lower(trim(rtrim(trim(e.address), '.,'))) = lower(trim(rtrim(trim(j.address), '.,')))
                    and (e.created_at < j.created_at or (e.created_at = j.created_at and e.id < j.id)));

update jobs set service_location_id = (
    select l.id from service_locations l
    where l.customer_id = jobs.customer_id and l.address_key = lower(trim(rtrim(trim(jobs.address), '.,'))))
where address is not null;
