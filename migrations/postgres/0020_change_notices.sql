-- Notices of changes (issue 12): a booked job moved or canceled tells the customer; the
-- technicians who were texted a job hear that it moved, that they are off it, or that it is
-- canceled. These are notification kinds like the others.
alter table notification_settings drop constraint notification_settings_kind_check;
alter table notification_settings add constraint notification_settings_kind_check
    check (kind in ('confirmation', 'rescheduled', 'reminder', 'on_the_way', 'canceled',
        'invoice_nudge', 'tech_rescheduled', 'tech_removed', 'tech_canceled'));

-- A technician whose portal links were turned off for a lost phone: nothing about their jobs
-- is texted to that phone (not even the next job's link) until the office texts a new link.
alter table technicians add column links_paused_at bigint;
