-- Web forms: each brand can publish forms whose submissions become leads.
create table web_forms (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    form_key text not null unique,
    signing_key text not null,
    name text not null,
    redirect_url text,
    allowed_origins text not null,
    active integer not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index web_forms_org on web_forms (org_id);
