//! Whom each step of a flow reaches, worked out before the step's transaction: the message
//! as it will be told, the client's contacts, the schedules the flow names resolved at the
//! instant the steps fire, and the sign-ins on call. A step's transaction then reads nothing
//! through the pool while it holds its connection (and, on SQLite, the write lock): under a
//! burst of steps, no transaction waits for a second connection that the others hold.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::db::Db;
use crate::desk::contacts::{Contact, MethodKind};
use crate::desk::delivery::Told;
use crate::desk::flow::{Action, Channel, Policy, Target};
use crate::ids::OrgId;
use crate::oncall::store::StoredSchedule;
use crate::oncall::{Member, timeline::on_call};
use crate::parse::{EmailAddress, PhoneE164};
use crate::tenancy::User;
use crate::{Error, Result};

/// Someone a target named, reached by one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub person: String,
    pub address: String,
    /// The client's contact it is, if one.
    pub contact: Option<i64>,
}

/// Whom a target reaches, or why nobody (and who it was, when someone).
pub type Resolution = std::result::Result<Vec<Reach>, (Option<String>, String)>;

/// What the steps of one escalation need, gathered before its transaction.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub told: Told,
    /// Per step, per target: what the target names (for the timeline) and whom it reaches.
    pub steps: Vec<Vec<(String, Resolution)>>,
    /// The client's fallback, alerted when the flow reaches nobody or ends unconfirmed.
    pub fallback: Option<(String, Resolution)>,
}

/// Gathers what `policy`'s steps need for the message `told`, resolving on-call targets at
/// `now`.
pub async fn prepare(db: &Db, told: Told, policy: &Policy, now: Timestamp) -> Result<Prepared> {
    let org = told.brand.org_id;
    let contacts = crate::desk::contacts::list(db, org, told.brand.id).await?;
    let mut on_call = OnCall::default();
    on_call.read(db, org, &[policy], now).await?;
    Ok(resolve(told, &contacts, &on_call, policy, now))
}

/// [`prepare`] for a stored escalation (read without a lock: its flow never changes).
pub async fn prepare_for(db: &Db, org: OrgId, escalation: i64, now: Timestamp) -> Result<Prepared> {
    let e = super::store::get(db, org, escalation).await?;
    let told = Told::load(db, org, e.message_id).await?;
    prepare(db, told, &e.policy, now).await
}

/// [`prepare_for`] for many escalations, with a few reads for all of them (per
/// organization: the escalations, their messages, the clients, the protocol versions, the
/// contacts, and each schedule named once). In the order asked; `NotFound` for one removed.
pub async fn prepare_many(db: &Db, wanted: &[(OrgId, i64)], now: Timestamp) -> Result<Vec<Result<Prepared>>> {
    let mut out: Vec<Option<Result<Prepared>>> = (0..wanted.len()).map(|_| None).collect();
    let mut orgs: Vec<OrgId> = wanted.iter().map(|(o, _)| *o).collect();
    orgs.sort_by_key(|o| o.0);
    orgs.dedup();
    for org in orgs {
        let ids: Vec<i64> = wanted.iter().filter(|(o, _)| *o == org).map(|(_, id)| *id).collect();
        let escalations = super::store::get_many(db, org, &ids).await?;
        let message_ids: Vec<i64> = escalations.iter().map(|e| e.message_id).collect();
        let messages = crate::desk::messages::get_many_as_taken(db, org, &message_ids).await?;
        let mut brand_ids: Vec<crate::ids::BrandId> = messages.iter().map(|m| m.brand_id).collect();
        brand_ids.sort_by_key(|b| b.0);
        brand_ids.dedup();
        let brands = crate::tenancy::brands(db, org, &brand_ids).await?;
        let mut versions: Vec<(crate::ids::BrandId, i64)> =
            messages.iter().map(|m| (m.brand_id, m.protocol_version)).collect();
        versions.sort_by_key(|(b, v)| (b.0, *v));
        versions.dedup();
        let protocols = crate::desk::versions(db, org, &versions).await?;
        let contacts = crate::desk::contacts::of_brands(db, org, &brand_ids).await?;
        let mut on_call = OnCall::default();
        let policies: Vec<&Policy> = escalations.iter().map(|e| &e.policy).collect();
        on_call.read(db, org, &policies, now).await?;
        for (slot, (o, id)) in out.iter_mut().zip(wanted) {
            if *o != org {
                continue;
            }
            let prepared = (|| {
                let e = escalations.iter().find(|e| e.id == *id).ok_or(Error::NotFound)?;
                let m = messages.iter().find(|m| m.id == e.message_id).ok_or(Error::NotFound)?;
                let brand = brands.iter().find(|b| b.id == m.brand_id).ok_or(Error::NotFound)?;
                let protocol =
                    protocols
                        .iter()
                        .find(|p| p.brand_id == m.brand_id && p.version == m.protocol_version)
                        .ok_or_else(|| Error::Unexpected(format!("desk message {} has no protocol version", m.id)))?;
                let told = Told::new(m.clone(), brand.clone(), protocol.protocol.clone());
                let theirs: Vec<Contact> = contacts.iter().filter(|c| c.brand_id == m.brand_id).cloned().collect();
                Ok(resolve(told, &theirs, &on_call, &e.policy, now))
            })();
            *slot = Some(prepared);
        }
    }
    Ok(out.into_iter().map(|p| p.unwrap_or(Err(Error::NotFound))).collect())
}

/// The schedules flows name, and the sign-ins on call for them, read once each.
#[derive(Default)]
struct OnCall {
    schedules: HashMap<i64, Option<StoredSchedule>>,
    users: HashMap<i64, Option<User>>,
}

impl OnCall {
    /// Reads the schedules `policies` name that are not read yet, and whoever of their sign-ins
    /// is on call at `now`.
    async fn read(&mut self, db: &Db, org: OrgId, policies: &[&Policy], now: Timestamp) -> Result<()> {
        for policy in policies {
            for t in policy.steps.iter().flat_map(|s| &s.targets) {
                let Target::OnCall { schedule, .. } = t else { continue };
                if self.schedules.contains_key(schedule) {
                    continue;
                }
                let found = match crate::oncall::store::get(db, org, *schedule).await {
                    Ok(s) => Some(s),
                    Err(Error::NotFound) => None,
                    Err(e) => return Err(e),
                };
                if let Some(s) = &found {
                    for (m, _) in on_call(&s.schedule(), now).on_call {
                        if let Member::User(id) = m
                            && !self.users.contains_key(&id)
                        {
                            let u = match crate::tenancy::user(db, org, crate::ids::UserId(id)).await {
                                Ok(u) => Some(u),
                                Err(Error::NotFound) => None,
                                Err(e) => return Err(e),
                            };
                            self.users.insert(id, u);
                        }
                    }
                }
                self.schedules.insert(*schedule, found);
            }
        }
        Ok(())
    }
}

/// Whom each of `policy`'s steps (and the client's fallback) reaches for the message `told`.
fn resolve(told: Told, contacts: &[Contact], on_call: &OnCall, policy: &Policy, now: Timestamp) -> Prepared {
    let world = World { told: &told, contacts, schedules: &on_call.schedules, users: &on_call.users, now };
    let steps = policy
        .steps
        .iter()
        .map(|s| s.targets.iter().map(|t| (world.label(t), world.resolve(t, s.action))).collect())
        .collect();
    let fallback = told.protocol.fallback.as_ref().map(|t| {
        let by_email = match t {
            Target::Contact { channel, .. } => *channel == Channel::Email,
            Target::Address { value } => value.contains('@'),
            Target::OnCall { .. } => false,
        };
        (world.label(t), world.resolve(t, if by_email { Action::Email } else { Action::Text }))
    });
    Prepared { told, steps, fallback }
}

struct World<'a> {
    told: &'a Told,
    contacts: &'a [Contact],
    schedules: &'a HashMap<i64, Option<StoredSchedule>>,
    users: &'a HashMap<i64, Option<User>>,
    now: Timestamp,
}

impl World<'_> {
    fn contact(&self, id: i64) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }

    /// What a target names, for the timeline: `On call for Nights (cell)`, `Dr. Lee (cell)`.
    fn label(&self, t: &Target) -> String {
        match t {
            Target::Contact { id, channel } => {
                let name = self.contact(*id).map(|c| c.name.as_str()).unwrap_or("A removed contact");
                format!("{name} ({})", channel.as_str())
            }
            Target::OnCall { schedule, channel, all } => {
                let name = match self.schedules.get(schedule) {
                    Some(Some(s)) => s.name.as_str(),
                    _ => "a removed schedule",
                };
                let who = if *all { "Everyone on call" } else { "On call" };
                format!("{who} for {name} ({})", channel.as_str())
            }
            Target::Address { value } => value.clone(),
        }
    }

    /// Who a target reaches, by the action's channel; or why nobody (and who it was).
    fn resolve(&self, t: &Target, action: Action) -> Resolution {
        let email_action = action == Action::Email;
        match t {
            Target::Address { value } => {
                let v = value.trim();
                let address = if v.contains('@') {
                    EmailAddress::parse(v).map(|a| a.to_string())
                } else {
                    PhoneE164::parse_in(v, self.told.brand.country).map(|p| p.as_str().to_string())
                };
                match address {
                    Ok(a) => Ok(vec![Reach { person: v.to_string(), address: a, contact: None }]),
                    Err(why) => Err((None, why)),
                }
            }
            Target::Contact { id, channel } => {
                let Some(c) = self.contact(*id) else {
                    return Err((None, "this contact was removed from the client".into()));
                };
                let kind = if email_action { MethodKind::Email } else { method_of(*channel) };
                match c.methods.iter().find(|m| m.kind == kind) {
                    Some(m) => {
                        Ok(vec![Reach { person: c.name.clone(), address: m.value.clone(), contact: Some(c.id) }])
                    }
                    None if action == Action::Secure => {
                        Ok(vec![Reach { person: c.name.clone(), address: String::new(), contact: Some(c.id) }])
                    }
                    None => Err((Some(c.name.clone()), format!("{} has no {} on file", c.name, way_name(kind)))),
                }
            }
            Target::OnCall { schedule, channel, all } => {
                let Some(Some(stored)) = self.schedules.get(schedule) else {
                    return Err((None, "this schedule was removed".into()));
                };
                let now_on = on_call(&stored.schedule(), self.now);
                let mut members: Vec<Member> = now_on.on_call.iter().map(|(m, _)| *m).collect();
                if members.is_empty() {
                    return Err((None, format!("nobody is on call for {} now", stored.name)));
                }
                if !*all {
                    members.truncate(1);
                }
                let kind = if email_action { MethodKind::Email } else { method_of(*channel) };
                let mut reach = Vec::new();
                let mut missing = Vec::new();
                for m in members {
                    match self.member_way(m, kind) {
                        Ok(r) => reach.push(r),
                        Err(name) => missing.push(name),
                    }
                }
                if reach.is_empty() {
                    let names = missing.join(", ");
                    return Err((
                        Some(names.clone()),
                        format!("{names} (on call for {}) has no {} on file", stored.name, way_name(kind)),
                    ));
                }
                Ok(reach)
            }
        }
    }

    /// A schedule member's way of this kind: a contact's method; a sign-in's email, or the
    /// method of the client's contact linked to that sign-in.
    fn member_way(&self, m: Member, kind: MethodKind) -> std::result::Result<Reach, String> {
        match m {
            Member::Contact(id) => {
                let Some(c) = self.contact(id) else { return Err("a removed contact".into()) };
                match c.methods.iter().find(|x| x.kind == kind) {
                    Some(x) => Ok(Reach { person: c.name.clone(), address: x.value.clone(), contact: Some(c.id) }),
                    None => Err(c.name.clone()),
                }
            }
            Member::User(id) => {
                let Some(Some(u)) = self.users.get(&id) else { return Err("a removed sign-in".into()) };
                let linked = self.contacts.iter().find(|c| c.user_id == Some(u.id));
                if let Some(c) = linked
                    && let Some(x) = c.methods.iter().find(|x| x.kind == kind)
                {
                    return Ok(Reach { person: u.name.clone(), address: x.value.clone(), contact: Some(c.id) });
                }
                if kind == MethodKind::Email {
                    return Ok(Reach { person: u.name.clone(), address: u.email.to_string(), contact: None });
                }
                Err(u.name.clone())
            }
        }
    }
}

/// `cell number`, `home phone`: as a sentence names a way to reach someone.
fn way_name(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Cell => "cell number",
        MethodKind::Home => "home phone",
        MethodKind::Office => "office phone",
        MethodKind::Email => "email address",
        MethodKind::Pager => "pager",
        MethodKind::Fax => "fax number",
    }
}

fn method_of(c: Channel) -> MethodKind {
    match c {
        Channel::Cell => MethodKind::Cell,
        Channel::Home => MethodKind::Home,
        Channel::Office => MethodKind::Office,
        Channel::Email => MethodKind::Email,
    }
}
