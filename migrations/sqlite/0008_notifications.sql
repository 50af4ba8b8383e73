-- Customer notifications: per brand and kind, whether SMS and email are on and their wording;
-- per brand, the reminder time, quiet hours and the multi-technician limit.

create table notification_settings (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    kind text not null check (kind in ('confirmation', 'reminder', 'on_the_way', 'invoice_nudge')),
    sms_enabled integer not null,
    email_enabled integer not null,
    sms_template text not null,
    email_subject text not null,
    email_template text not null,
    updated_at bigint not null,
    unique (brand_id, kind)
);

create table notification_prefs (
    brand_id bigint primary key references brands(id),
    org_id bigint not null references orgs(id),
    reminder_time text not null,
    quiet_start text,
    quiet_end text,
    limit_multi_tech integer not null,
    updated_at bigint not null
);
