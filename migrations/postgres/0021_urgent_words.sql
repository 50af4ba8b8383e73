-- Urgent words per brand (issue 12): a lead whose customer wrote one is flagged and sorted
-- first. Null is the built-in list (tenancy::urgent::DEFAULT_URGENT_WORDS); an empty text
-- turns the flag off for the brand.
alter table brands add column urgent_words text;

-- The sidebar's unread count on every console page.
create index leads_unread on leads (org_id, brand_id) where unread = 1;
