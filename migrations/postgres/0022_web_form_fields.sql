-- Web forms with fields of their own (issue 12): a JSON list of {key, label, kind, required,
-- options, help} shown after the built-in fields and checked by type on submission.
alter table web_forms add column custom_fields text not null default '[]';
