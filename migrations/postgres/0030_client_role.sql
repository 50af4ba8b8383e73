-- The message desk's clients sign in (issue 13): a user's role may be `client`, someone at an
-- answering service's client who sees only the messages of the clients (brands) they are a
-- desk contact of.
alter table users drop constraint users_role_check;
alter table users add constraint users_role_check
    check (role in ('admin', 'dispatcher', 'operator', 'technician', 'client'));
