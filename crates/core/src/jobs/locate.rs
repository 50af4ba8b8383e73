//! Putting a job's address on the map. A new job, or one whose address changed, queues a
//! `geocode.job` item in the same transaction; the geocoder's answer sets the pin, verified
//! when it matched the house itself and left for a dispatcher to check when it matched only
//! the street or town. A pin a dispatcher placed (verified) is never moved by the geocoder.

use serde_json::json;

use super::model::{GeoPoint, JobSummary};
use super::store;
use crate::clock::{Clock, to_millis};
use crate::db::{Db, Event, Tx};
use crate::engine::{self, BoxFuture, NewWork, Outcome, WorkContext, WorkItem, Worker};
use crate::ids::{JobId, OrgId};
use crate::providers::maps::Geocoder;
use crate::{Error, Result};

/// A `geocode.job` item: put the job's address on the map.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeocodeJob {
    pub job_id: JobId,
}

impl engine::Kind for GeocodeJob {
    const NAME: &'static str = "geocode.job";
}

/// Queues finding the job's address on the map, inside `tx`.
pub async fn queue_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, job: JobId) -> Result<()> {
    let now = clock.now();
    let work =
        NewWork::of(&GeocodeJob { job_id: job }, now)?.org(org).key(format!("geocode:{}:{}", job.0, to_millis(now)));
    engine::enqueue_in(tx, &work, now).await?;
    Ok(())
}

/// What looking the address up did.
#[derive(Debug, Clone, PartialEq)]
pub enum Located {
    /// Pinned; `exact` when verified by a house-level match.
    Pinned {
        point: GeoPoint,
        exact: bool,
    },
    NotFound,
    /// Nothing to do: no address, no geocoder, or a dispatcher's verified pin.
    Skipped(&'static str),
}

/// Looks the job's address up now and sets the pin (a dispatcher's "Find on map", and the
/// queued item). `Err(Unavailable)` when the geocoder could not be asked.
pub async fn locate(db: &Db, clock: &dyn Clock, geocoder: &Geocoder, org: OrgId, id: JobId) -> Result<Located> {
    let job = super::get(db, org, id).await?;
    if !geocoder.is_on() {
        return Ok(Located::Skipped("no geocoder is configured"));
    }
    let Some(address) = job.address.clone().filter(|a| !a.trim().is_empty()) else {
        return Ok(Located::Skipped("the job has no address"));
    };
    if job.location_verified {
        return Ok(Located::Skipped("the pin is already verified"));
    }
    let found = geocoder.locate(&address).await.map_err(Error::Unavailable)?;
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    // The address may have changed while the geocoder answered: that edit queued its own lookup.
    let current = store::get_job_in(&mut tx, org, id).await?;
    if current.address.as_deref() != Some(address.as_str()) || current.location_verified {
        tx.rollback().await?;
        return Ok(Located::Skipped("the job changed meanwhile"));
    }
    let (located, note) = match found {
        Some(place) => {
            set_pin_in(&mut tx, &current, place.point, place.exact, now).await?;
            let note = if place.exact {
                format!("Address found on the map and verified ({})", place.label)
            } else {
                format!("Address found only approximately ({}); check the pin and save it to verify", place.label)
            };
            (Located::Pinned { point: place.point, exact: place.exact }, note)
        }
        None => (Located::NotFound, "Address not found on the map; place the pin by hand".to_string()),
    };
    super::note_in(&mut tx, org, id, &note, now).await?;
    tx.commit().await?;
    db.publish(Event::Job { org, job: id });
    Ok(located)
}

async fn set_pin_in(tx: &mut Tx, job: &JobSummary, point: GeoPoint, verified: bool, now: i64) -> Result<()> {
    let fields = store::JobFields {
        service: &job.service,
        address: job.address.as_deref(),
        service_location: job.service_location.as_ref().map(|s| s.id),
        location: Some(point),
        location_verified: verified,
        scheduled_start: job.scheduled_start,
        scheduled_end: job.scheduled_end,
        internal_notes: job.internal_notes.as_deref(),
        customer_notes: job.customer_notes.as_deref(),
    };
    store::update_fields(tx, job.org_id, job.id, &fields, now).await
}

/// Runs `geocode.job` items.
#[derive(Clone)]
pub struct Locator {
    pub geocoder: Geocoder,
}

impl Worker for Locator {
    type Args = GeocodeJob;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: GeocodeJob) -> BoxFuture<Outcome> {
        let geocoder = self.geocoder.clone();
        Box::pin(async move {
            let Some(org) = item.org_id else {
                return Outcome::Fail("a geocode item must belong to an organization".into());
            };
            match locate(&ctx.db, ctx.clock.as_ref(), &geocoder, org, args.job_id).await {
                Ok(Located::Pinned { exact, .. }) => Outcome::Done(Some(json!({ "pinned": true, "verified": exact }))),
                Ok(Located::NotFound) => Outcome::Done(Some(json!({ "pinned": false }))),
                Ok(Located::Skipped(why)) => Outcome::Done(Some(json!({ "skipped": why }))),
                Err(Error::NotFound) => Outcome::Done(Some(json!({ "skipped": "job gone" }))),
                Err(e) => Outcome::Retry(e.to_string()),
            }
        })
    }
}
