//! Calling a customer from the console: we call the person's own cell from the brand's number;
//! when they answer, they hear whom they are being put through to, and the customer is dialed
//! with the brand's number as caller id, recorded like any call. Numbers are checked against
//! the countries of the organization's brands first (a toll-fraud guard: no call to a country
//! the business does not work in, such as a premium-rate Caribbean +1 number from a US office).

use crate::clock::{Clock, to_millis};
use crate::db::{Db, Event};
use crate::ids::{BrandId, OrgId, UserId};
use crate::parse::{PhoneE164, display_phone};
use crate::providers::SendError;
use crate::providers::voice::{Dial, Leg, OutboundCall, Verb, VoiceProvider};
use crate::{Error, Result};

use super::route::Urls;
use super::store::{self, NewCall};

/// How long the person's own cell rings before we give up.
const CELL_RING_SECONDS: u32 = 30;

/// What a click on a number asks for.
pub struct DialRequest<'a> {
    pub org: OrgId,
    pub user: UserId,
    /// The brand whose number calls; `None`: the only brand with a number.
    pub brand: Option<BrandId>,
    pub to: &'a str,
}

/// Places the call to the person's cell; returns the call's id and their cell (to tell them).
pub async fn dial(
    db: &Db,
    clock: &dyn Clock,
    voice: &dyn VoiceProvider,
    base: &str,
    req: &DialRequest<'_>,
) -> Result<(i64, String)> {
    let brands = crate::tenancy::list_brands(db, req.org).await?;
    let with_numbers: Vec<_> = brands.iter().filter(|b| b.sms_number.is_some()).collect();
    let brand = match req.brand {
        Some(id) => brands.iter().find(|b| b.id == id).ok_or(Error::NotFound)?,
        None => match with_numbers.as_slice() {
            [one] => *one,
            _ => return Err(Error::invalid("brand", "Choose the brand whose number should call.")),
        },
    };
    let Some(from) = brand.sms_number.clone() else {
        return Err(Error::invalid("brand", format!("{} has no phone number to call from.", brand.name)));
    };
    let to = PhoneE164::parse_in(req.to, brand.country).map_err(|e| Error::invalid("to", e))?;
    let allowed: Vec<String> = brands.iter().map(|b| b.country.code().to_string()).collect();
    let country = to.region_code();
    if country.as_ref().is_none_or(|c| !allowed.contains(c)) {
        let name = country
            .as_deref()
            .and_then(|c| crate::parse::Country::parse(c).ok())
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| "that country".to_string());
        let mut ours: Vec<String> =
            allowed.iter().filter_map(|c| crate::parse::Country::parse(c).ok()).map(|c| c.name().to_string()).collect();
        ours.dedup();
        return Err(Error::invalid(
            "to",
            format!(
                "Calls to {} ({name}) are not allowed: Switchboard calls only the countries your brands work in ({}).",
                to.display(),
                ours.join(", ")
            ),
        ));
    }
    let people = store::people(db.pool(), req.org).await?;
    let Some(cell) = people.iter().find(|p| p.user_id == req.user.0).and_then(|p| p.cell.clone()) else {
        return Err(Error::Conflict(
            "Add your cell number in Settings → Calls first: we call you there, then put you through.".into(),
        ));
    };
    let customer = crate::customers::matching(db, req.org, Some(to.as_str()), None).await?.into_iter().next();
    let now = clock.now();
    let placeholder = format!("pending:{}", crate::secret::new_token());
    let mut tx = db.begin().await?;
    let new = NewCall {
        org: req.org,
        brand: brand.id,
        sid: &placeholder,
        from: from.as_str(),
        to: to.as_str(),
        customer: customer.map(|c| c.id.0),
        lead: None,
        plan: &[],
        mode: "hunt",
        now: to_millis(now),
    };
    let id = store::insert_outbound(&mut tx, &new, req.user.0).await?;
    tx.commit().await?;
    let urls = Urls { base, call: id };
    let placed = voice
        .place(OutboundCall {
            from: from.as_str().to_string(),
            to: cell.clone(),
            url: urls.connect(),
            status_callback: format!("{}/webhooks/twilio/voice/status", base.trim_end_matches('/')),
            detect_machine: false,
            ring_seconds: CELL_RING_SECONDS,
        })
        .await;
    let mut tx = db.begin().await?;
    let outcome = match &placed {
        Ok(p) => store::placed(&mut tx, id, Ok(&p.sid)).await,
        Err(e) => store::placed(&mut tx, id, Err(&e.to_string())).await,
    };
    outcome?;
    tx.commit().await?;
    db.publish(Event::Call { org: req.org, call: id });
    match placed {
        Ok(_) => Ok((id, display_phone(&cell))),
        Err(SendError::Transient(why)) => Err(Error::Unavailable(format!("The call could not be placed: {why}"))),
        Err(SendError::Rejected { message, .. }) => {
            Err(Error::Conflict(format!("The phone company refused the call: {message}")))
        }
    }
}

/// The person answered their cell: tell them whom they are calling, then dial the customer
/// from the brand's number.
pub async fn connect(db: &Db, base: &str, call: i64) -> Result<Vec<Verb>> {
    let call = store::live(db.pool(), call).await?.ok_or(Error::NotFound)?;
    let brand = crate::tenancy::brand(db, call.org(), call.brand()).await?;
    let routing = store::routing(db.pool(), call.org(), call.brand()).await?;
    let who = match call.customer_id {
        Some(id) => crate::customers::get(db, call.org(), crate::ids::CustomerId(id)).await.ok().map(|c| c.name),
        None => None,
    }
    .filter(|n| !n.trim().is_empty())
    .unwrap_or_else(|| super::route::spoken_number(&display_phone(&call.to_number)));
    let urls = Urls { base, call: call.id };
    Ok(vec![
        Verb::Say(format!("Calling {who} for {}.", brand.name)),
        Verb::Dial(Dial {
            action: urls.connected(),
            ring_seconds: 30,
            caller_id: Some(call.from_number.clone()),
            record_to: routing.record.then(|| urls.recording("call")),
            legs: vec![Leg::Number { number: call.to_number.clone(), whisper: None }],
        }),
    ])
}

/// The customer's leg ended: answered, or they did not pick up.
pub async fn connected(db: &Db, clock: &dyn Clock, call: i64, dial_status: &str) -> Result<Vec<Verb>> {
    let call = store::live(db.pool(), call).await?.ok_or(Error::NotFound)?;
    let mut tx = db.begin().await?;
    if dial_status == "completed" {
        sqlx::query(
            "update voice_calls set outcome = 'answered', answered_at = coalesce(answered_at, $2) \
             where id = $1 and outcome is null",
        )
        .bind(call.id)
        .bind(to_millis(clock.now()))
        .execute(&mut *tx)
        .await?;
    } else {
        store::settle(&mut tx, call.id, super::model::Outcome::Missed).await?;
    }
    tx.commit().await?;
    db.publish(Event::Call { org: call.org(), call: call.id });
    if dial_status == "completed" {
        Ok(vec![Verb::Hangup])
    } else {
        Ok(vec![Verb::Say("They did not answer. Goodbye.".into()), Verb::Hangup])
    }
}
