//! What carrying out steps writes, gathered in memory and written set-wise: the texts and
//! their sending items, the timers, the acknowledgement links, the reply codes, the timeline
//! lines and where each escalation stands, each table in one multi-row statement (a few, for
//! many rows) when the transaction's steps are done, instead of about fifteen statements a step.
//! Rows that name each other get their ids ahead ([`Ids`]). The reply codes of the numbers
//! the steps may reach, and their opt-outs, are read once up front ([`Writes::load`]) and
//! kept current in memory, so that codes handed out within the batch stay unique.
//!
//! A write that does not go through here (a call queued, an email, a secure message, a
//! cancellation) must come after [`Writes::flush`], which also makes SQLite's ids be read
//! again.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;

use super::store::{self, CodeRow, Entry, Escalation};
use crate::Result;
use crate::clock::to_millis;
use crate::db::Tx;
use crate::db::ids::Ids;
use crate::engine::{NewWork, Priority};
use crate::ids::OrgId;
use crate::links::{self, NewLink, PlannedLink};
use crate::messaging::{self, MessageId, PlannedSms};
use crate::parse::PhoneE164;
use crate::tenancy::Brand;

/// Writes gathered in one transaction, not yet written.
#[derive(Debug, Default)]
pub struct Writes {
    ids: Ids,
    lines: Vec<(OrgId, i64, Entry)>,
    work: Vec<(i64, NewWork)>,
    texts: Vec<PlannedSms>,
    links: Vec<PlannedLink>,
    /// The code rows of the escalations read (`codes_of`) or written in this transaction, as
    /// they now are, by (escalation, number).
    rows: HashMap<(i64, String), CodeRow>,
    /// Ids of `rows` to write.
    dirty: HashSet<i64>,
    /// Escalations whose code rows are all in `rows`.
    codes_of: HashSet<i64>,
    /// The open codes of numbers (per organization), as they now are: (code, escalation).
    open: HashMap<(i64, String), Vec<(u32, i64)>>,
    /// Numbers whose opt-outs are in `opted_out`.
    phones: HashSet<String>,
    opted_out: HashSet<(i64, String)>,
    /// Escalations whose codes close.
    closed: Vec<OrgId>,
    closed_ids: Vec<i64>,
    saves: Vec<Escalation>,
}

impl Writes {
    pub fn new() -> Writes {
        Writes::default()
    }

    /// Reads the code rows of `escalations`, and the open codes and opt-outs of `addresses`
    /// (numbers in `org`), those not read yet.
    pub async fn load(&mut self, tx: &mut Tx, org: OrgId, escalations: &[i64], addresses: &[&str]) -> Result<()> {
        let mut wanted: Vec<i64> = escalations.iter().copied().filter(|e| !self.codes_of.contains(e)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        if !wanted.is_empty() {
            for row in store::code_rows_in(tx, &wanted).await? {
                self.rows.entry((row.escalation_id, row.address.clone())).or_insert(row);
            }
            self.codes_of.extend(wanted);
        }
        let mut fresh: Vec<&str> = Vec::new();
        for a in addresses {
            if !a.is_empty() && !self.open.contains_key(&(org.0, a.to_string())) && !fresh.contains(a) {
                fresh.push(a);
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        for a in &fresh {
            self.open.insert((org.0, a.to_string()), Vec::new());
        }
        for (address, code, escalation) in store::open_codes_of_in(tx, org, &fresh).await? {
            if let Some(open) = self.open.get_mut(&(org.0, address)) {
                open.push((code as u32, escalation));
            }
        }
        let phones: Vec<&str> = fresh.iter().copied().filter(|p| !self.phones.contains(*p)).collect();
        if !phones.is_empty() {
            for (brand, phone) in messaging::opted_out_in(tx, &phones).await? {
                self.opted_out.insert((brand.0, phone));
            }
            self.phones.extend(phones.iter().map(|p| p.to_string()));
        }
        Ok(())
    }

    /// Adds a line to an escalation's timeline.
    pub fn log(&mut self, org: OrgId, escalation: i64, entry: Entry) {
        self.lines.push((org, escalation, entry));
    }

    /// Adds work (a timer).
    pub async fn enqueue(&mut self, tx: &mut Tx, work: NewWork) -> Result<()> {
        let id = self.ids.next(tx, "work_items").await?;
        self.work.push((id, work));
        Ok(())
    }

    /// Queues a text from the brand's number (suppressed for a number that opted out of it).
    pub async fn sms(
        &mut self,
        tx: &mut Tx,
        brand: &Brand,
        to: &PhoneE164,
        body: &str,
        priority: Priority,
        now: Timestamp,
    ) -> Result<MessageId> {
        self.load(tx, brand.org_id, &[], &[to.as_str()]).await?;
        let opted_out = self.opted_out.contains(&(brand.id.0, to.as_str().to_string()));
        let id = self.ids.next(tx, "messages").await?;
        let work_id = if opted_out { 0 } else { self.ids.next(tx, "work_items").await? };
        let text = messaging::plan_sms(brand, to, body, priority, opted_out, id, work_id, now)?;
        self.texts.push(text);
        Ok(MessageId(id))
    }

    /// Issues a capability link; returns its token.
    pub fn link(&mut self, org: OrgId, link: &NewLink, now: Timestamp) -> String {
        let (token, planned) = links::plan(org, link, now);
        self.links.push(planned);
        token
    }

    /// Records that `address` (`person`) is sent the escalation at `version`; with
    /// `with_code`, gives them a reply code: the one they hold for it, or the smallest free
    /// among that number's open escalations in the organization. Returns the row's id and the
    /// code.
    #[allow(clippy::too_many_arguments)]
    pub async fn recipient(
        &mut self,
        tx: &mut Tx,
        org: OrgId,
        escalation: i64,
        address: &str,
        person: &str,
        with_code: bool,
        version: i64,
        now: Timestamp,
    ) -> Result<(i64, Option<u32>)> {
        self.load(tx, org, &[escalation], &[address]).await?;
        let open = self.open.entry((org.0, address.to_string())).or_default();
        let held = open.iter().find(|(_, e)| *e == escalation).map(|(c, _)| *c);
        let code = match (with_code, held) {
            (false, _) => None,
            (true, Some(c)) => Some(c),
            (true, None) => {
                let code = super::codes::allocate(&open.iter().map(|(c, _)| *c).collect::<Vec<_>>());
                open.push((code, escalation));
                Some(code)
            }
        };
        let id = match self.rows.get_mut(&(escalation, address.to_string())) {
            Some(row) => {
                row.code = code.map(i64::from).or(row.code);
                row.version = version;
                row.id
            }
            None => {
                let id = self.ids.next(tx, "escalation_codes").await?;
                let row = CodeRow {
                    id,
                    org_id: org.0,
                    escalation_id: escalation,
                    address: address.to_string(),
                    person: person.to_string(),
                    code: code.map(i64::from),
                    open: 1,
                    version,
                    created_at: to_millis(now),
                };
                self.rows.insert((escalation, address.to_string()), row);
                id
            }
        };
        self.dirty.insert(id);
        Ok((id, code))
    }

    /// Closes the escalation's codes (they are free for others again).
    pub fn close_codes(&mut self, org: OrgId, escalation: i64) {
        for r in self.rows.values_mut().filter(|r| r.escalation_id == escalation && r.open == 1) {
            r.open = 0;
            self.dirty.insert(r.id);
        }
        for open in self.open.values_mut() {
            open.retain(|(_, e)| *e != escalation);
        }
        self.closed.push(org);
        self.closed_ids.push(escalation);
    }

    /// Keeps where the escalation stands, to be saved.
    pub fn save(&mut self, e: &Escalation) {
        self.saves.retain(|s| s.id != e.id);
        self.saves.push(e.clone());
    }

    /// Whether nothing is waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
            && self.work.is_empty()
            && self.texts.is_empty()
            && self.links.is_empty()
            && self.dirty.is_empty()
            && self.closed.is_empty()
            && self.saves.is_empty()
    }

    /// Writes everything gathered. A write that does not go through here may follow.
    pub async fn flush(&mut self, tx: &mut Tx, now: Timestamp) -> Result<()> {
        if !self.is_empty() {
            crate::engine::enqueue_many_in(tx, &self.work, now).await?;
            messaging::queue_planned_in(tx, &self.texts, now).await?;
            links::insert_planned_in(tx, &self.links).await?;
            let dirty: Vec<CodeRow> = self.rows.values().filter(|r| self.dirty.contains(&r.id)).cloned().collect();
            store::upsert_codes_in(tx, &dirty).await?;
            // Codes of escalations read up front are closed above, in `codes`.
            for (org, escalation) in self.closed.iter().zip(&self.closed_ids) {
                if !self.codes_of.contains(escalation) {
                    store::close_codes_in(tx, *org, *escalation).await?;
                }
            }
            let ids = self.ids.take(tx, "escalation_events", self.lines.len()).await?;
            let lines: Vec<(i64, OrgId, i64, Entry)> =
                ids.into_iter().zip(self.lines.drain(..)).map(|(id, (org, e, entry))| (id, org, e, entry)).collect();
            store::log_many_in(tx, &lines).await?;
            store::save_many_in(tx, &self.saves).await?;
            self.work.clear();
            self.texts.clear();
            self.links.clear();
            self.dirty.clear();
            self.closed.clear();
            self.closed_ids.clear();
            self.saves.clear();
        }
        // Whatever comes next may write rows with ids the database chooses.
        self.ids.forget();
        Ok(())
    }
}
