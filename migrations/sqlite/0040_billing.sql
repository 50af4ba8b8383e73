-- Invoices and payment (issue 16). Each brand numbers its invoices (INV-1001, ...) and credit
-- notes (CN-1001, ...), has tax rates (thousandths of a percent: 8.875% is 8875) and a nudge
-- schedule (days after sending). An invoice is drafted from a job's line items, or is a deposit
-- asked for before the work; its lines and taxes are copies, so editing the job later does not
-- change an invoice already sent. Money is in minor units of `currency`; `subtotal`, `discount`,
-- `tax_total`, `deposit_credit`, `total`, `paid` (payments less refunds) and `due` are kept
-- with every change by the rule in `billing::model::Totals`. `status`: draft, sent, viewed,
-- partly_paid, paid, void, refunded. `version` goes up with every change (the fence of its
-- nudges and of a payment page opened before the change).
create table billing_settings (
    brand_id bigint primary key references brands(id),
    org_id bigint not null references orgs(id),
    invoice_prefix text not null,
    next_invoice_number bigint not null,
    credit_prefix text not null,
    next_credit_number bigint not null,
    nudge_days text not null,
    footer text not null,
    updated_at bigint not null
);

create table tax_rates (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    name text not null,
    rate_x1000 bigint not null check (rate_x1000 >= 0 and rate_x1000 <= 100000),
    position bigint not null,
    created_at bigint not null
);
create index tax_rates_brand on tax_rates (org_id, brand_id, position);

create table invoices (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    job_id bigint references jobs(id),
    customer_id bigint not null references customers(id),
    number text not null,
    kind text not null check (kind in ('invoice', 'deposit')),
    status text not null check (status in ('draft', 'sent', 'viewed', 'partly_paid', 'paid', 'void', 'refunded')),
    currency text not null,
    subtotal bigint not null,
    discount bigint not null,
    discount_label text not null,
    tax_total bigint not null,
    deposit_credit bigint not null,
    total bigint not null,
    paid bigint not null,
    due bigint not null,
    note text not null,
    version bigint not null,
    replaces_id bigint references invoices(id),
    created_at bigint not null,
    updated_at bigint not null,
    sent_at bigint,
    viewed_at bigint,
    paid_at bigint,
    voided_at bigint,
    void_reason text
);
create unique index invoices_number on invoices (brand_id, number);
create index invoices_org_status on invoices (org_id, status, sent_at);
create index invoices_job on invoices (org_id, job_id);
create index invoices_customer on invoices (org_id, customer_id);

create table invoice_lines (
    id integer primary key,
    org_id bigint not null references orgs(id),
    invoice_id bigint not null references invoices(id),
    position bigint not null,
    description text not null,
    quantity_x100 bigint not null,
    unit_price bigint not null,
    taxable bigint not null,
    amount bigint not null
);
create index invoice_lines_invoice on invoice_lines (invoice_id, position);

create table invoice_taxes (
    id integer primary key,
    org_id bigint not null references orgs(id),
    invoice_id bigint not null references invoices(id),
    position bigint not null,
    name text not null,
    rate_x1000 bigint not null,
    amount bigint not null
);
create index invoice_taxes_invoice on invoice_taxes (invoice_id, position);

-- Money in and out: a payment (card through Stripe, or cash, check, bank transfer recorded by
-- the office) or a refund (with its credit note number). `reference` is the provider's id that
-- makes it happen once (a Checkout Session for a payment, a refund's id), unique per
-- organization; `payment_intent` ties a refund to the card payment it returns.
create table invoice_payments (
    id integer primary key,
    org_id bigint not null references orgs(id),
    invoice_id bigint not null references invoices(id),
    kind text not null check (kind in ('payment', 'refund')),
    method text not null check (method in ('card', 'bank', 'cash', 'check', 'transfer', 'other')),
    amount bigint not null check (amount > 0),
    reference text,
    payment_intent text,
    credit_number text,
    note text not null,
    actor text not null,
    created_at bigint not null
);
create unique index invoice_payments_reference on invoice_payments (org_id, reference) where reference is not null;
create index invoice_payments_invoice on invoice_payments (invoice_id, created_at);
create index invoice_payments_intent on invoice_payments (payment_intent) where payment_intent is not null;

-- Stripe Checkout Sessions made for an invoice: one open session is reused while its amount is
-- still what is due. `status`: open, processing (a bank payment on its way), complete, expired,
-- failed.
create table checkout_sessions (
    id integer primary key,
    org_id bigint not null references orgs(id),
    invoice_id bigint not null references invoices(id),
    session_id text not null,
    url text not null,
    amount bigint not null,
    invoice_version bigint not null,
    status text not null check (status in ('open', 'processing', 'complete', 'expired', 'failed')),
    expires_at bigint not null,
    created_at bigint not null
);
create unique index checkout_sessions_session on checkout_sessions (session_id);
create index checkout_sessions_invoice on checkout_sessions (org_id, invoice_id, status);

-- Every Stripe event once, by its id (Stripe delivers some twice and in any order).
create table stripe_events (
    event_id text primary key,
    event_type text not null,
    org_id bigint,
    outcome text not null,
    received_at bigint not null
);

-- An invoice's timeline: drafted, edited, sent, viewed, paid, refunded, voided.
create table invoice_events (
    id integer primary key,
    org_id bigint not null references orgs(id),
    invoice_id bigint not null references invoices(id),
    actor text not null,
    what text not null,
    created_at bigint not null
);
create index invoice_events_invoice on invoice_events (invoice_id, id);

-- The invoice itself is a notification kind (its templates are the brand's to edit).
-- SQLite cannot change a check constraint in place: the table is rebuilt with the new kind.
create table notification_settings_new (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    kind text not null check (kind in ('confirmation', 'rescheduled', 'reminder', 'on_the_way', 'canceled',
        'invoice', 'invoice_nudge', 'tech_rescheduled', 'tech_removed', 'tech_canceled')),
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
