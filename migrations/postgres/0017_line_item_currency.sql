-- Money is an amount in minor units with its currency: line items say which.
alter table job_line_items add column currency text not null default 'USD';
