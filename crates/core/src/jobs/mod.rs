//! Jobs: the work a customer is owed. This step lists them and creates them with codes from
//! the brand's sequence; the status machine, assignment and history come with the jobs issue.

pub mod model;
mod store;

pub use model::{JobFilter, JobStatus, JobSummary, JobTech, NewJob, short_name};

use crate::Result;
use crate::clock::Clock;
use crate::db::{Db, Tx};
use crate::ids::{JobId, OrgId};

pub async fn list(db: &Db, org: OrgId, filter: &JobFilter) -> Result<Vec<JobSummary>> {
    store::list_jobs(db.pool(), org, filter).await
}

/// Creates a job inside the caller's transaction; returns its id and code (e.g. `J-2206`).
pub async fn create_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, job: &NewJob) -> Result<(JobId, String)> {
    store::insert_job(tx, org, job, clock.now()).await
}
