//! Settings -> Message desk: each client's protocol (docs/adr/0006-clients-are-brands.md),
//! started from a template and edited: the answer phrase (previewed as the operator will say
//! it), account notes, and caller types with their fields. Each save is a new version; a save
//! from an old copy is refused, saying who saved since, with what was typed kept.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::auth::SessionUser;
use switchboard_core::desk::contacts::MethodKind;
use switchboard_core::desk::protocol::{CALLER_TYPES_MAX, FIELDS_MAX};
use switchboard_core::desk::rules::{DeliveryRuleInput, Method, Period, RULES_MAX};
use switchboard_core::desk::{self, CallerTypeInput, ProtocolInput, StoredProtocol};
use switchboard_core::form_fields::{CustomFieldInput, FieldKind};
use switchboard_core::ids::BrandId;
use switchboard_core::tenancy::Brand;

use crate::auth::{Admin, Staff, actor};
use crate::console::desk_flow::{FlowForm, target_of, target_value};
use crate::console::shell;
use crate::error::PageError;
use crate::pages::parse_id;
use crate::state::AppState;
use crate::views::{FieldRow, Shell, error_for};

/// Blank field rows under each caller type, for new fields.
const NEW_FIELD_ROWS: usize = 2;
/// Blank delivery rule rows under each caller type, for new rules.
const NEW_RULE_ROWS: usize = 1;

/// A delivery rule in the editor (inputs `c{m}_r{n}_urgent`, `_when`, `_method`, `_contacts`).
#[derive(Default)]
pub struct RuleRow {
    pub prefix: String,
    pub urgent: bool,
    pub when: String,
    /// Empty on a blank row.
    pub method: String,
    pub contacts: Vec<i64>,
    pub remove: bool,
    /// (part, message): `when`, `method`, `contacts`.
    pub errors: Vec<(String, String)>,
}

impl RuleRow {
    pub fn error(&self, part: &str) -> Option<&str> {
        error_for(&self.errors, part)
    }
    pub fn has(&self, contact: &i64) -> bool {
        self.contacts.contains(contact)
    }
    /// The client's contacts as this rule offers them: its recipients first, in their order,
    /// then the rest, so a save keeps the order.
    pub fn choices<'a>(&self, contacts: &'a [(i64, String, String)]) -> Vec<&'a (i64, String, String)> {
        let mut out: Vec<&(i64, String, String)> =
            self.contacts.iter().filter_map(|id| contacts.iter().find(|c| c.0 == *id)).collect();
        out.extend(contacts.iter().filter(|c| !self.contacts.contains(&c.0)));
        out
    }
    /// Left out of the save: removed, or a blank row.
    fn skipped(&self) -> bool {
        self.remove || self.method.trim().is_empty()
    }
    fn input(&self) -> DeliveryRuleInput {
        DeliveryRuleInput {
            urgent: self.urgent,
            when: self.when.clone(),
            method: self.method.clone(),
            contacts: self.contacts.clone(),
        }
    }
}

fn rule_rows(m: usize, rules: &[DeliveryRuleInput]) -> Vec<RuleRow> {
    let mut rows: Vec<RuleRow> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleRow {
            prefix: format!("c{m}_r{}", i + 1),
            urgent: r.urgent,
            when: r.when.clone(),
            method: r.method.clone(),
            contacts: r.contacts.clone(),
            ..RuleRow::default()
        })
        .collect();
    for _ in 0..NEW_RULE_ROWS.min(RULES_MAX.saturating_sub(rows.len())) {
        let n = rows.len() + 1;
        rows.push(RuleRow { prefix: format!("c{m}_r{n}"), when: "always".into(), ..RuleRow::default() });
    }
    rows
}

pub struct ClientRow {
    pub brand_id: i64,
    pub name: String,
    pub color: String,
    /// "Version 2, saved by Morgan Lee" or empty before the first save.
    pub saved: String,
    pub caller_types: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/desk.html")]
pub struct DeskPage {
    pub shell: Shell,
    pub clients: Vec<ClientRow>,
}

/// A caller type in the editor, with its field rows.
pub struct CallerTypeBlock {
    /// Its number in the form (inputs `c{m}_name`, `c{m}_f{n}_label`, ...).
    pub m: usize,
    /// Empty for a new one.
    pub key: String,
    pub name: String,
    pub remove: bool,
    pub rows: Vec<FieldRow>,
    pub rules: Vec<RuleRow>,
    /// Its urgent flow.
    pub flow: FlowForm,
    /// What its recipients receive, as saved (none for a new caller type): a routine message,
    /// and an urgent one.
    pub preview: Option<(switchboard_core::desk::delivery::Preview, switchboard_core::desk::delivery::Preview)>,
    /// (part, message): `name`, `key`, `fields`, `deliveries`.
    pub errors: Vec<(String, String)>,
}

impl CallerTypeBlock {
    /// (whether urgent, what recipients receive), as saved.
    pub fn previews(&self) -> Vec<(bool, &switchboard_core::desk::delivery::Preview)> {
        match &self.preview {
            Some((routine, urgent)) => vec![(false, routine), (true, urgent)],
            None => Vec::new(),
        }
    }
    pub fn error(&self, part: &str) -> Option<&str> {
        error_for(&self.errors, part)
    }
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
            || self.rows.iter().any(|r| !r.errors.is_empty())
            || self.rules.iter().any(|r| !r.errors.is_empty())
            || self.flow.has_errors()
    }
    fn blank(m: usize) -> CallerTypeBlock {
        CallerTypeBlock {
            m,
            key: String::new(),
            name: String::new(),
            remove: false,
            rows: field_rows(m, &[]),
            rules: rule_rows(m, &[]),
            flow: FlowForm::of(m, None),
            preview: None,
            errors: Vec::new(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/desk_edit.html")]
pub struct DeskEditPage {
    pub shell: Shell,
    pub brand_id: i64,
    pub brand_name: String,
    /// The version the form was opened on (0: none yet).
    pub version: i64,
    pub saved: String,
    pub answer_phrase: String,
    pub account_notes: String,
    /// The answer phrase as the signed-in operator would say it.
    pub greeting: String,
    pub blocks: Vec<CallerTypeBlock>,
    pub urgent_words: String,
    pub urgent_after_hours: bool,
    pub recap_times: String,
    pub holidays: String,
    /// The fallback as chosen (`contact:12:cell`), and the choices.
    pub fallback: String,
    pub fallback_options: Vec<(String, String)>,
    /// The brand's urgent words, for the hint.
    pub brand_words: String,
    /// The client's contacts (id, name, what they can be reached by).
    pub contacts: Vec<(i64, String, String)>,
    pub methods: Vec<(&'static str, &'static str)>,
    pub periods: Vec<(&'static str, &'static str)>,
    pub kinds: Vec<(&'static str, &'static str)>,
    /// What an urgent flow's step can do, and whom it can reach (value, label).
    pub actions: Vec<(&'static str, &'static str)>,
    pub flow_targets: Vec<(String, String)>,
    pub templates: Vec<(&'static str, &'static str)>,
    pub errors: Vec<(String, String)>,
    pub notice: Option<String>,
}

impl DeskEditPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.blocks.iter().any(|b| b.has_errors())
    }
}

/// What `{operator}` becomes for the signed-in user: their first name.
pub(crate) fn first_name(viewer: &SessionUser) -> String {
    viewer.user.name.split_whitespace().next().unwrap_or("Operator").to_string()
}

fn saved_label(p: &StoredProtocol) -> String {
    format!("Version {}, saved by {}", p.version, switchboard_core::jobs::dispatch::actor_name(&p.saved_by))
}

pub async fn index(State(state): State<AppState>, Staff(viewer): Staff, uri: Uri) -> Result<Response, PageError> {
    let (shell, brands) = shell(&state, &viewer, "settings", &uri).await?;
    let mut clients = Vec::new();
    for b in &brands {
        let current = desk::current(&state.db, viewer.user.org_id, b.id).await?;
        clients.push(ClientRow {
            brand_id: b.id.0,
            name: b.name.clone(),
            color: b.color.clone(),
            saved: current.as_ref().map(saved_label).unwrap_or_default(),
            caller_types: current
                .map(|c| c.protocol.caller_types.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
        });
    }
    Ok(DeskPage { shell, clients }.into_response())
}

/// The editor's rows for a caller type's fields, then blank rows for new ones.
fn field_rows(m: usize, fields: &[CustomFieldInput]) -> Vec<FieldRow> {
    let mut rows: Vec<FieldRow> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| FieldRow {
            n: i + 1,
            prefix: format!("c{m}_f{}", i + 1),
            key: f.key.clone().unwrap_or_default(),
            label: f.label.clone(),
            kind: f.kind.clone(),
            required: f.required,
            options: f.options.clone(),
            help: f.help.clone(),
            remove: false,
            errors: Vec::new(),
        })
        .collect();
    let room = FIELDS_MAX.saturating_sub(rows.len());
    for _ in 0..NEW_FIELD_ROWS.min(room) {
        let n = rows.len() + 1;
        rows.push(FieldRow { n, prefix: format!("c{m}_f{n}"), kind: "text".into(), ..FieldRow::default() });
    }
    rows
}

/// The editor's blocks for a protocol as saved (or a template), then a blank one for a new
/// caller type.
fn blocks_of(input: &ProtocolInput) -> Vec<CallerTypeBlock> {
    let mut blocks: Vec<CallerTypeBlock> = input
        .caller_types
        .iter()
        .enumerate()
        .map(|(i, c)| CallerTypeBlock {
            m: i + 1,
            key: c.key.clone().unwrap_or_default(),
            name: c.name.clone(),
            remove: false,
            rows: field_rows(i + 1, &c.fields),
            rules: rule_rows(i + 1, &c.deliveries),
            flow: FlowForm::of(i + 1, c.urgent_flow.as_ref()),
            preview: None,
            errors: Vec::new(),
        })
        .collect();
    if blocks.len() < CALLER_TYPES_MAX {
        blocks.push(CallerTypeBlock::blank(blocks.len() + 1));
    }
    blocks
}

#[derive(Default)]
struct Typed {
    version: i64,
    answer_phrase: String,
    account_notes: String,
    blocks: Vec<CallerTypeBlock>,
    urgent_words: String,
    urgent_after_hours: bool,
    recap_times: String,
    holidays: String,
    fallback: String,
}

impl Typed {
    fn of(version: i64, input: &ProtocolInput) -> Typed {
        Typed {
            version,
            answer_phrase: input.answer_phrase.clone(),
            account_notes: input.account_notes.clone(),
            blocks: blocks_of(input),
            urgent_words: input.urgent_words.clone(),
            urgent_after_hours: input.urgent_after_hours,
            recap_times: input.recap_times.clone(),
            holidays: input.holidays.clone(),
            fallback: input.fallback.as_ref().map(target_value).unwrap_or_default(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn edit_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    brand: &Brand,
    saved: String,
    typed: Typed,
    errors: Vec<(String, String)>,
    notice: Option<String>,
) -> Result<DeskEditPage, PageError> {
    let (shell, _) = shell(state, viewer, "settings", uri).await?;
    let greeting = typed.answer_phrase.replace("{operator}", &first_name(viewer)).replace("{client}", &brand.name);
    let listed = desk::contacts::list(&state.db, viewer.user.org_id, brand.id).await?;
    let schedules: Vec<(i64, String)> =
        switchboard_core::oncall::store::list(&state.db, viewer.user.org_id, Some(brand.id))
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
    let flow_targets = crate::console::desk_flow::targets(&schedules, &listed);
    let mut fallback_options = Vec::new();
    for c in &listed {
        for m in &c.methods {
            match m.kind {
                MethodKind::Cell => fallback_options
                    .push((format!("contact:{}:cell", c.id), format!("{}, by text to their cell", c.name))),
                MethodKind::Email => {
                    fallback_options.push((format!("contact:{}:email", c.id), format!("{}, by email", c.name)))
                }
                _ => {}
            }
        }
    }
    fallback_options.dedup();
    if let Some(a) = typed.fallback.strip_prefix("address:") {
        fallback_options.push((typed.fallback.clone(), a.to_string()));
    }
    let contacts = listed
        .into_iter()
        .map(|c| {
            let ways: Vec<&str> = c.methods.iter().map(|m| m.kind.label()).collect();
            let ways = if ways.is_empty() { "no way to reach them yet".to_string() } else { ways.join(", ") };
            (c.id, c.name, ways)
        })
        .collect();
    Ok(DeskEditPage {
        shell,
        brand_id: brand.id.0,
        brand_name: brand.name.clone(),
        version: typed.version,
        saved,
        answer_phrase: typed.answer_phrase,
        account_notes: typed.account_notes,
        greeting,
        blocks: typed.blocks,
        urgent_words: typed.urgent_words,
        urgent_after_hours: typed.urgent_after_hours,
        recap_times: typed.recap_times,
        holidays: typed.holidays,
        fallback: typed.fallback,
        fallback_options,
        brand_words: brand.urgent_words.phrases().join(", "),
        contacts,
        methods: Method::ALL.iter().map(|m| (m.as_str(), m.label())).collect(),
        periods: Period::ALL.iter().map(|p| (p.as_str(), p.label())).collect(),
        kinds: FieldKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        actions: crate::console::desk_flow::actions(),
        flow_targets,
        templates: desk::templates().into_iter().map(|t| (t.key, t.name)).collect(),
        errors,
        notice,
    })
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

pub async fn edit(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let brand = switchboard_core::tenancy::brand(&state.db, org, BrandId(parse_id(&id)?)).await?;
    let current = desk::current(&state.db, org, brand.id).await?;
    let notice = match done.done.as_deref() {
        Some("saved") => Some("Protocol saved. Messages taken from now on follow it.".to_string()),
        Some("template") => Some("Started from the template: change what differs for this client, then save.".into()),
        _ => None,
    };
    let (saved, typed) = match &current {
        Some(p) => {
            let mut typed = Typed::of(p.version, &p.protocol.to_input());
            for (block, caller) in typed.blocks.iter_mut().zip(&p.protocol.caller_types) {
                let preview = |urgent| {
                    switchboard_core::desk::delivery::preview(&brand, &p.protocol, caller, urgent, state.clock.now())
                };
                block.preview = Some((preview(false), preview(true)));
            }
            (saved_label(p), typed)
        }
        None => (String::new(), Typed::default()),
    };
    Ok(edit_page(&state, &viewer, &uri, &brand, saved, typed, Vec::new(), notice).await?.into_response())
}

#[derive(Deserialize)]
pub struct TemplateForm {
    template: String,
}

/// `POST /settings/desk/{brand}/template`: saves a template as the client's protocol (a new
/// version when there is one) and opens it to edit.
pub async fn apply_template(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
    Form(form): Form<TemplateForm>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let brand = BrandId(parse_id(&id)?);
    match desk::apply_template(&state.db, state.clock.as_ref(), org, brand, &actor(&viewer), &form.template).await {
        Err(Error::Invalid(_)) => return Err(PageError::bad_request("pick one of the templates")),
        other => other?,
    };
    Ok(Redirect::to(&format!("/settings/desk/{}?done=template", brand.0)).into_response())
}

/// Reads the editor: the protocol's own fields and each caller type block with its rows.
fn read_editor(posted: &[(String, String)]) -> Typed {
    let map: HashMap<&str, &str> = posted.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let all = |k: &str| -> Vec<i64> {
        posted.iter().filter(|(name, _)| name == k).filter_map(|(_, v)| v.trim().parse().ok()).collect()
    };
    let get = |k: &str| map.get(k).map(|v| v.to_string()).unwrap_or_default();
    let mut blocks = Vec::new();
    for m in 1..=CALLER_TYPES_MAX + 1 {
        if !map.contains_key(format!("c{m}_name").as_str()) {
            continue;
        }
        let mut rows = Vec::new();
        for n in 1..=FIELDS_MAX + NEW_FIELD_ROWS {
            let k = rows.len() + 1;
            let shown = format!("c{}_f{k}", blocks.len() + 1);
            if let Some(row) = FieldRow::read(&map, &format!("c{m}_f{n}"), k, shown) {
                rows.push(row);
            }
        }
        let b = blocks.len() + 1;
        let mut rules = Vec::new();
        for n in 1..=RULES_MAX + NEW_RULE_ROWS {
            let from = format!("c{m}_r{n}");
            if !map.contains_key(format!("{from}_method").as_str()) {
                continue;
            }
            rules.push(RuleRow {
                prefix: format!("c{b}_r{}", rules.len() + 1),
                urgent: get(&format!("{from}_urgent")) == "1",
                when: get(&format!("{from}_when")),
                method: get(&format!("{from}_method")),
                contacts: all(&format!("{from}_contacts")),
                remove: map.contains_key(format!("{from}_remove").as_str()),
                errors: Vec::new(),
            });
        }
        blocks.push(CallerTypeBlock {
            m: b,
            key: get(&format!("c{m}_key")),
            name: get(&format!("c{m}_name")),
            remove: map.contains_key(format!("c{m}_remove").as_str()),
            rows,
            rules,
            flow: FlowForm::read(&map, m, b),
            preview: None,
            errors: Vec::new(),
        });
    }
    Typed {
        version: get("version").trim().parse().unwrap_or(0),
        answer_phrase: get("answer_phrase"),
        account_notes: get("account_notes"),
        blocks,
        urgent_words: get("urgent_words"),
        urgent_after_hours: map.contains_key("urgent_after_hours"),
        recap_times: get("recap_times"),
        holidays: get("holidays"),
        fallback: get("fallback"),
    }
}

/// Whether a caller type is left out of the save: removed, or new and never named.
fn block_skipped(b: &CallerTypeBlock) -> bool {
    b.remove || (b.key.is_empty() && b.name.trim().is_empty())
}

pub async fn update(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let brand = switchboard_core::tenancy::brand(&state.db, org, BrandId(parse_id(&id)?)).await?;
    let mut typed = read_editor(&posted);
    // Kept caller types (not removed, and new ones given a name), each with its kept rows.
    let kept: Vec<(usize, Vec<usize>, Vec<usize>)> = typed
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| !block_skipped(b))
        .map(|(i, b)| {
            let rows = (0..b.rows.len()).filter(|&j| !b.rows[j].skipped()).collect();
            let rules = (0..b.rules.len()).filter(|&j| !b.rules[j].skipped()).collect();
            (i, rows, rules)
        })
        .collect();
    // Each kept caller type's urgent flow, and the row answering for each of its steps.
    let flows: Vec<(Option<switchboard_core::desk::flow::Policy>, Vec<usize>)> =
        kept.iter().map(|(i, _, _)| typed.blocks[*i].flow.policy()).collect();
    let input = ProtocolInput {
        answer_phrase: typed.answer_phrase.clone(),
        account_notes: typed.account_notes.clone(),
        caller_types: kept
            .iter()
            .enumerate()
            .map(|(k, (i, rows, rules))| {
                let b = &typed.blocks[*i];
                CallerTypeInput {
                    key: Some(b.key.clone()).filter(|k| !k.is_empty()),
                    name: b.name.clone(),
                    fields: rows.iter().map(|&j| b.rows[j].input()).collect(),
                    deliveries: rules.iter().map(|&j| b.rules[j].input()).collect(),
                    urgent_flow: flows[k].0.clone(),
                }
            })
            .collect(),
        urgent_words: typed.urgent_words.clone(),
        urgent_after_hours: typed.urgent_after_hours,
        recap_times: typed.recap_times.clone(),
        holidays: typed.holidays.clone(),
        fallback: target_of(&typed.fallback),
    };
    let seen = Some(typed.version);
    // A flow row that cannot be read is refused beside it before anything is saved.
    let saved = if typed.blocks.iter().any(|b| b.flow.has_errors()) {
        Err(Error::Invalid(Vec::new()))
    } else {
        desk::save(&state.db, state.clock.as_ref(), org, brand.id, &actor(&viewer), &input, seen).await
    };
    let mut errors = Vec::new();
    match saved {
        Ok(_) => return Ok(Redirect::to(&format!("/settings/desk/{}?done=saved", brand.id.0)).into_response()),
        // Errors name the k-th kept caller type and its j-th kept field: put each beside its
        // row; the rest beside the protocol's own fields.
        Err(Error::Invalid(fields)) => {
            for f in fields {
                let parts: Vec<&str> = f.field.split('.').collect();
                let block =
                    parts.get(1).and_then(|k| k.parse::<usize>().ok()).and_then(|k| kept.get(k.wrapping_sub(1)));
                match (parts.as_slice(), block) {
                    (["caller_types", _, "fields", j, part], Some((i, rows, _))) => {
                        match j.parse::<usize>().ok().and_then(|j| rows.get(j.wrapping_sub(1))) {
                            Some(&row) => typed.blocks[*i].rows[row].errors.push((part.to_string(), f.message)),
                            None => typed.blocks[*i].errors.push(("fields".into(), f.message)),
                        }
                    }
                    (["caller_types", _, "deliveries", j, part], Some((i, _, rules))) => {
                        match j.parse::<usize>().ok().and_then(|j| rules.get(j.wrapping_sub(1))) {
                            Some(&rule) => typed.blocks[*i].rules[rule].errors.push((part.to_string(), f.message)),
                            None => typed.blocks[*i].errors.push(("deliveries".into(), f.message)),
                        }
                    }
                    (["caller_types", k, "urgent_flow", "steps", s, part], Some((i, _, _))) => {
                        let k = k.parse::<usize>().unwrap_or(0).wrapping_sub(1);
                        let row = s
                            .parse::<usize>()
                            .ok()
                            .and_then(|s| flows.get(k).and_then(|(_, first)| first.get(s.wrapping_sub(1))));
                        let part = match *part {
                            "targets" => "target",
                            "wait_minutes" => "wait",
                            other => other,
                        };
                        match row {
                            Some(&row) => typed.blocks[*i].flow.rows[row].errors.push((part.to_string(), f.message)),
                            None => typed.blocks[*i].errors.push(("urgent_flow".into(), f.message)),
                        }
                    }
                    (["caller_types", _, "urgent_flow", ..], Some((i, _, _))) => {
                        typed.blocks[*i].errors.push(("urgent_flow".into(), f.message))
                    }
                    (["caller_types", _, part], Some((i, _, _))) => {
                        typed.blocks[*i].errors.push((part.to_string(), f.message))
                    }
                    _ => errors.push((f.field.to_string(), f.message)),
                }
            }
        }
        Err(Error::Stale(s)) => errors.push(("stale".into(), s.message)),
        Err(e) => return Err(e.into()),
    }
    let status =
        if errors.iter().any(|(f, _)| f == "stale") { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
    let saved = desk::current(&state.db, org, brand.id).await?.as_ref().map(saved_label).unwrap_or_default();
    // A blank caller type block stays offered for a new one.
    if typed.blocks.iter().all(|b| !b.key.is_empty() || !b.name.trim().is_empty())
        && typed.blocks.len() < CALLER_TYPES_MAX
    {
        typed.blocks.push(CallerTypeBlock::blank(typed.blocks.len() + 1));
    }
    let page = edit_page(&state, &viewer, &uri, &brand, saved, typed, errors, None).await?;
    Ok((status, page).into_response())
}
