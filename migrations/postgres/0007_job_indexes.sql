-- The board, the portal and the jobs table read jobs by day, status and customer.
create index jobs_org_status on jobs (org_id, status);
create index jobs_customer on jobs (customer_id);
