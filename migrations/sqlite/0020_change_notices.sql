-- Notices of changes (issue 12): a booked job moved or canceled tells the customer; the
-- technicians who were texted a job hear that it moved, that they are off it, or that it is
-- canceled. These are notification kinds like the others.
-- SQLite cannot change a check constraint in place: the table is rebuilt with the new kinds.
create table notification_settings_new (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    kind text not null check (kind in ('confirmation', 'rescheduled', 'reminder', 'on_the_way', 'canceled',
        'invoice_nudge', 'tech_rescheduled', 'tech_removed', 'tech_canceled')),
    sms_enabled integer not null,
    email_enabled integer not null,
    sms_template text not null,
    email_subject text not null,
    email_template text not null,
    updated_at bigint not null,
    unique (brand_id, kind)
);
insert into notification_settings_new (id, org_id, brand_id, kind, sms_enabled, email_enabled, sms_template,
    email_subject, email_template, updated_at)
select id, org_id, brand_id, kind, sms_enabled, email_enabled, sms_template, email_subject, email_template, updated_at
from notification_settings;
drop table notification_settings;
alter table notification_settings_new rename to notification_settings;

-- A technician whose portal links were turned off for a lost phone: nothing about their jobs
-- is texted to that phone (not even the next job's link) until the office texts a new link.
alter table technicians add column links_paused_at bigint;
