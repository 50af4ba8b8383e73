-- What each technician is doing on a job (assigned, en_route, on_site, done), so several
-- technicians on one site are told apart: the customer's "on the way" message and the job's
-- status follow the crew, not just the first technician.
alter table job_technicians add column work_status text not null default 'assigned';
update job_technicians set work_status = 'en_route'
    where job_id in (select id from jobs where status = 'dispatched');
update job_technicians set work_status = 'on_site'
    where job_id in (select id from jobs where status = 'on_site');
update job_technicians set work_status = 'done'
    where job_id in (select id from jobs where status in ('pending_close', 'completed', 'canceled'));

-- A tracking link follows the technician whose "on the way" message carried it.
alter table tracking_tokens add column technician_id bigint references technicians(id);
