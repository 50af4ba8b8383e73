-- The country whose numbering plan reads phone numbers typed without a country code
-- (a web form's phone, a number a dispatcher types), as ISO 3166-1 alpha-2.
alter table brands add column country text not null default 'US';
