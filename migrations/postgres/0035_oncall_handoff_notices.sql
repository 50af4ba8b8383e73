-- Hand-off notices (issue 14): when a schedule has them on, whoever comes on call is told by
-- text (or email) at the hand-off, and whoever goes off too. Worked out when each hand-off
-- comes, from the schedule as it is then.
alter table oncall_schedules add column handoff_notices bigint not null default 0;
