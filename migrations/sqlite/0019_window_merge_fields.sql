-- {windowStart} used to carry the day when the window was not today ("Tue Nov 24, 2:00 PM") and
-- only the time on the day; it is now always the time, with the day in {windowDay} and the
-- whole window in {window}. Saved confirmation and on-the-way wordings keep reading the same
-- on other days (and now name today as "today"). A reminder is sent on the day, where
-- {windowStart} was already the time, so reminders are left as they were.
update notification_settings
set sms_template = replace(replace(sms_template, '{windowStart}-{windowEnd}', '{window}'), '{windowStart}', '{windowDay}, {windowStart}'),
    email_subject = replace(replace(email_subject, '{windowStart}-{windowEnd}', '{window}'), '{windowStart}', '{windowDay}, {windowStart}'),
    email_template = replace(replace(email_template, '{windowStart}-{windowEnd}', '{window}'), '{windowStart}', '{windowDay}, {windowStart}')
where kind <> 'reminder';
