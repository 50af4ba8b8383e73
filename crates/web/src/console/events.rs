//! Server-Sent Events for open console pages: each event names what changed; the page then
//! fetches the fresh partial (htmx `sse:` triggers), so the server renders HTML in one place.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use switchboard_core::db::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Staff;
use crate::state::AppState;

pub async fn stream(
    State(state): State<AppState>,
    Staff(viewer): Staff,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let org = viewer.user.org_id;
    let rx = state.db.subscribe();
    let events = stream::unfold(rx, move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) if event.org() == org => {
                    let sse = match event {
                        Event::Lead { lead, .. } => SseEvent::default().event("lead").data(lead.0.to_string()),
                        // Lists listen for `job`; a job's own page for `job-{id}` (htmx event
                        // filters would need eval, which the CSP forbids).
                        Event::Job { job, .. } => {
                            let one = SseEvent::default().event(format!("job-{}", job.0)).data(job.0.to_string());
                            return Some((
                                vec![Ok(SseEvent::default().event("job").data(job.0.to_string())), Ok(one)],
                                rx,
                            ));
                        }
                        Event::Tech { tech, .. } => SseEvent::default().event("tech").data(tech.0.to_string()),
                        Event::Desk { message, .. } => SseEvent::default().event("desk").data(message.to_string()),
                        Event::Outbound { message, .. } => {
                            SseEvent::default().event("outbound").data(message.to_string())
                        }
                        Event::Call { call, .. } => SseEvent::default().event("call").data(call.to_string()),
                    };
                    return Some((vec![Ok(sse)], rx));
                }
                Ok(_) => continue,
                // A slow page missed some events: tell it to refresh everything.
                Err(RecvError::Lagged(_)) => {
                    let all = ["lead", "job", "tech", "desk", "outbound", "call", "resync"]
                        .map(|kind| Ok(SseEvent::default().event(kind).data("*")));
                    return Some((all.into(), rx));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
    .flat_map(stream::iter)
    // A shutdown ends the stream; the page reconnects to the next server and refreshes.
    .take_until(state.closing.wait());
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
