-- Emails may carry an HTML version beside the text (a customer notification with the
-- technician's photo and a tracking button); the text stays the record of what was said.
alter table messages add column html text;

-- Arrival tracking per brand: when off, messages carry no tracking link.
alter table notification_prefs add column tracking_enabled integer not null default 1;
