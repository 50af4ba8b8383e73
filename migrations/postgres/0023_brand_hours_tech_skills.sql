-- Working hours per brand (issue 12): the board opens on them and shades the hours outside,
-- and later the answering desk reads business vs after hours from them. One line per open
-- weekday ("mon 08:00-17:00"); null is the default week (Monday to Friday, 8 AM to 5 PM).
alter table brands add column working_hours text;

-- What a technician can do ("furnace", "backflow certified"), one per line, and the brands
-- they work for: none listed means every brand of the organization.
alter table technicians add column skills text;

create table technician_brands (
    org_id bigint not null references orgs(id),
    technician_id bigint not null references technicians(id),
    brand_id bigint not null references brands(id),
    primary key (technician_id, brand_id)
);
create index technician_brands_org on technician_brands (org_id);
