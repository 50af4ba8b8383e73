-- A client's contacts (issue 13): the people who receive its messages, with or without a
-- sign-in (`user_id`), and the ways to reach each, in the order they are tried (a number in
-- E.164, or an email address; a pager is either).
create table desk_contacts (
    id integer primary key,
    org_id bigint not null references orgs(id),
    brand_id bigint not null references brands(id),
    name text not null,
    title text,
    user_id bigint references users(id),
    notes text,
    created_at bigint not null,
    updated_at bigint not null
);
create index desk_contacts_brand on desk_contacts (org_id, brand_id);

create table desk_contact_methods (
    id integer primary key,
    org_id bigint not null references orgs(id),
    contact_id bigint not null references desk_contacts(id) on delete cascade,
    kind text not null check (kind in ('cell', 'home', 'office', 'email', 'pager', 'fax')),
    value text not null,
    position bigint not null
);
create index desk_contact_methods_contact on desk_contact_methods (contact_id, position);
