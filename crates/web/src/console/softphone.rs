//! The softphone dock in the corner of every console page: calls ringing the person's browser
//! (with who is calling and their open jobs), Accept and Decline, then the live call with its
//! keypad and Hang up. The dock is rendered here and refreshed on every call event, so a call in
//! progress is still there after moving to another page.
//!
//! With Twilio API keys the browser runs Twilio's Voice SDK with `/softphone/token`; against
//! the stand-in, the server acts on the browser's leg of the call for it (no audio).

use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::calls::route::client_identity;
use switchboard_core::calls::softphone::{self, OnPhone};
use switchboard_core::providers::SendError;

use crate::auth::Staff;
use crate::error::PageError;
use crate::pages::parse_id;
use crate::state::{AppState, Softphone};

#[derive(askama::Template, WebTemplate)]
#[template(path = "softphone/_dock.html")]
pub struct Dock {
    pub csrf: String,
    pub mode: &'static str,
    pub ringing: Vec<OnPhone>,
    pub live: Option<OnPhone>,
    pub error: Option<String>,
}

async fn dock(
    state: &AppState,
    viewer: &switchboard_core::auth::SessionUser,
    error: Option<String>,
) -> Result<Response, PageError> {
    let (ringing, live) = softphone::for_user(&state.db, viewer.user.org_id, viewer.user.id, state.clock.now()).await?;
    let mode = match state.softphone.as_ref() {
        Softphone::Twilio(_) => "twilio",
        Softphone::Simulated(_) => "simulated",
        Softphone::Off => "off",
    };
    Ok(Dock { csrf: viewer.csrf_token.clone(), mode, ringing, live, error }.into_response())
}

/// `GET /softphone`: the dock.
pub async fn show(State(state): State<AppState>, Staff(viewer): Staff) -> Result<Response, PageError> {
    dock(&state, &viewer, None).await
}

/// `GET /softphone/token`: an access token for the Voice SDK (409 when no API key is set).
pub async fn token(State(state): State<AppState>, Staff(viewer): Staff) -> Response {
    match state.softphone.as_ref() {
        Softphone::Twilio(keys) => {
            let identity = client_identity(viewer.user.id.0);
            let token = softphone::access_token(keys, &identity, state.clock.now());
            Json(serde_json::json!({ "identity": identity, "token": token, "ttl": softphone::TOKEN_SECONDS }))
                .into_response()
        }
        _ => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "error": "No Twilio API key is set up (TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET, TWILIO_TWIML_APP_SID): the softphone cannot sign in at Twilio." })),
        )
            .into_response(),
    }
}

#[derive(Deserialize, Default)]
pub struct KeyForm {
    #[serde(default)]
    key: String,
}

/// `POST /softphone/calls/{id}/{action}`: accept, decline, hangup or key (with `key`).
pub async fn act(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path((id, action)): Path<(String, String)>,
    axum::Form(form): axum::Form<KeyForm>,
) -> Result<Response, PageError> {
    let call = parse_id(&id)?;
    let org = viewer.user.org_id;
    let (ringing, live) = softphone::for_user(&state.db, org, viewer.user.id, state.clock.now()).await?;
    let Some(on) = ringing.iter().chain(live.iter()).find(|c| c.call == call).cloned() else {
        return dock(&state, &viewer, Some("That call is no longer ringing for you.".into())).await;
    };
    let identity = client_identity(viewer.user.id.0);
    let simulated = match state.softphone.as_ref() {
        Softphone::Simulated(s) => Some(s),
        _ => None,
    };
    let what = match action.as_str() {
        "accept" => "answer",
        "decline" => "decline",
        "hangup" => "hangup",
        "key" if form.key.len() == 1 && "0123456789*#".contains(&form.key) => form.key.as_str(),
        _ => return Err(Error::NotFound.into()),
    };
    if let Some(sim) = simulated {
        let leg = match sim.client_leg(&on.provider_sid, &identity).await {
            Ok(Some(leg)) => leg,
            Ok(None) => return dock(&state, &viewer, Some("The call has ended.".into())).await,
            Err(e) => return dock(&state, &viewer, Some(why(e))).await,
        };
        if let Err(e) = sim.simulate_client(&identity, &leg, what).await {
            return dock(&state, &viewer, Some(why(e))).await;
        }
    }
    if action == "accept" && !softphone::taken(&state.db, org, viewer.user.id, call, state.clock.now()).await? {
        return dock(&state, &viewer, Some("Someone else has taken this call.".into())).await;
    }
    dock(&state, &viewer, None).await
}

fn why(e: SendError) -> String {
    match e {
        SendError::Transient(m) => format!("The phone service did not answer: {m}"),
        SendError::Rejected { message, .. } => format!("The phone service refused: {message}"),
    }
}
