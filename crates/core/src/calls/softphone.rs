//! The softphone in the console's corner: access tokens for Twilio's Voice JavaScript SDK, and
//! what rings for a person in the browser (their ring mode is browser or both) or is live for
//! them now.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use serde::Serialize;

use crate::clock::to_millis;
use crate::db::Db;
use crate::ids::{OrgId, UserId};
use crate::parse::display_phone;
use crate::{Error, Result};

use super::model::Ring;
use super::store;

/// What signs a person's softphone in at Twilio: an API key (its sid and secret) of the
/// account, and the TwiML app whose Voice URL answers the calls the softphone places.
#[derive(Clone)]
pub struct VoiceKeys {
    pub account_sid: String,
    pub api_key_sid: String,
    pub api_key_secret: String,
    pub twiml_app_sid: String,
}

impl std::fmt::Debug for VoiceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceKeys")
            .field("account_sid", &self.account_sid)
            .field("api_key_sid", &self.api_key_sid)
            .field("api_key_secret", &"***")
            .field("twiml_app_sid", &self.twiml_app_sid)
            .finish()
    }
}

/// How long a softphone's access token lasts; the page asks for a new one before it ends.
pub const TOKEN_SECONDS: i64 = 3600;

/// A Twilio Access Token (a JWT signed HS256 with the API key's secret) with a Voice grant:
/// incoming calls to `identity`, outgoing calls through the TwiML app.
/// <https://www.twilio.com/docs/iam/access-tokens>
pub fn access_token(keys: &VoiceKeys, identity: &str, now: Timestamp) -> String {
    let iat = now.as_second();
    let header = serde_json::json!({ "alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1" });
    let claims = serde_json::json!({
        "jti": format!("{}-{iat}", keys.api_key_sid),
        "grants": {
            "identity": identity,
            "voice": {
                "incoming": { "allow": true },
                "outgoing": { "application_sid": keys.twiml_app_sid },
            },
        },
        "iat": iat,
        "exp": iat + TOKEN_SECONDS,
        "iss": keys.api_key_sid,
        "sub": keys.account_sid,
    });
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing = format!("{}.{}", b64.encode(header.to_string()), b64.encode(claims.to_string()));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(keys.api_key_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(signing.as_bytes());
    format!("{signing}.{}", b64.encode(mac.finalize().into_bytes()))
}

/// A call ringing a person's softphone, or live on it.
#[derive(Debug, Clone, Serialize)]
pub struct OnPhone {
    pub call: i64,
    pub provider_sid: String,
    pub brand: String,
    /// The customer's name, else the caller's number.
    pub caller: String,
    pub number: String,
    pub customer_id: Option<i64>,
    /// The customer's open jobs: (id, code, service).
    pub jobs: Vec<(i64, String, String)>,
    /// For an answering service's client (the brand has a desk protocol): the words the
    /// operator answers with, and its message form's client id.
    pub answer_phrase: Option<String>,
    pub desk_client: Option<i64>,
    pub started_at: Timestamp,
}

/// Calls ring a softphone for at most this long (a call whose end we never heard of is not
/// shown ringing for ever).
const RINGING_AT_MOST_MS: i64 = 10 * 60 * 1000;

/// Calls ringing `user`'s softphone now (their browser is in the hunt's current step), and the
/// call live on it (`answered` by them and not ended).
pub async fn for_user(db: &Db, org: OrgId, user: UserId, now: Timestamp) -> Result<(Vec<OnPhone>, Option<OnPhone>)> {
    let since = to_millis(now) - RINGING_AT_MOST_MS;
    let rows: Vec<(i64, Option<String>, String, i64)> = sqlx::query_as(
        "select id, outcome, plan, step from voice_calls where org_id = $1 and direction = 'inbound' \
         and started_at >= $2 and ended_at is null and (outcome is null or (outcome = 'answered' and handled_by = $3)) \
         order by started_at",
    )
    .bind(org.0)
    .bind(since)
    .bind(user.0)
    .fetch_all(db.pool())
    .await?;
    let mut ringing = Vec::new();
    let mut live = None;
    for (id, outcome, plan, step) in rows {
        let plan: Vec<Vec<Ring>> = serde_json::from_str(&plan).map_err(|e| Error::Unexpected(e.to_string()))?;
        let rings_me = plan
            .get(usize::try_from(step).unwrap_or(0))
            .is_some_and(|s| s.iter().any(|r| matches!(r, Ring::Browser { user: u, .. } if *u == user.0)));
        match outcome {
            None if rings_me => ringing.push(describe(db, org, id).await?),
            Some(_) => live = Some(describe(db, org, id).await?),
            None => {}
        }
    }
    Ok((ringing, live))
}

async fn describe(db: &Db, org: OrgId, id: i64) -> Result<OnPhone> {
    let c = store::live(db.pool(), id).await?.ok_or(Error::NotFound)?;
    let brand = crate::tenancy::brand(db, org, c.brand()).await?;
    let (caller, jobs) = match c.customer_id {
        Some(cid) => {
            let customer = crate::customers::get(db, org, crate::ids::CustomerId(cid)).await?;
            let jobs: Vec<(i64, String, String)> = sqlx::query_as(
                "select id, code, service from jobs where org_id = $1 and customer_id = $2 \
                 and status not in ('completed', 'canceled') order by id desc limit 3",
            )
            .bind(org.0)
            .bind(cid)
            .fetch_all(db.pool())
            .await?;
            (customer.name, jobs)
        }
        None => (display_phone(&c.from_number), Vec::new()),
    };
    let desk = crate::desk::current(db, org, c.brand()).await?;
    let started: (i64,) =
        sqlx::query_as("select started_at from voice_calls where id = $1").bind(id).fetch_one(db.pool()).await?;
    Ok(OnPhone {
        call: c.id,
        provider_sid: c.provider_sid.clone(),
        brand: brand.name,
        caller,
        number: display_phone(&c.from_number),
        customer_id: c.customer_id,
        jobs,
        answer_phrase: desk.as_ref().map(|d| d.protocol.answer_phrase.clone()).filter(|p| !p.trim().is_empty()),
        desk_client: desk.map(|d| d.brand_id.0),
        started_at: crate::clock::from_millis(started.0),
    })
}

/// The person took the call in their browser: it is theirs unless someone was first.
pub async fn taken(db: &Db, org: OrgId, user: UserId, call: i64, now: Timestamp) -> Result<bool> {
    let c = store::live(db.pool(), call).await?.ok_or(Error::NotFound)?;
    if c.org() != org {
        return Err(Error::NotFound);
    }
    let mut tx = db.begin().await?;
    let took = store::claim(&mut tx, call, Some(user.0), None, to_millis(now)).await?;
    tx.commit().await?;
    db.publish(crate::db::Event::Call { org, call });
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_token_is_a_twilio_jwt_with_a_voice_grant_signed_with_the_key_secret() {
        let keys = VoiceKeys {
            account_sid: "AC00000000000000000000000000000001".into(),
            api_key_sid: "SK00000000000000000000000000000002".into(),
            api_key_secret: "key-secret".into(),
            twiml_app_sid: "AP00000000000000000000000000000003".into(),
        };
        let token = access_token(&keys, "u12", "2026-11-23T16:00:00Z".parse().unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({ "alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1" }));
        assert_eq!(
            claims,
            serde_json::json!({
                "jti": "SK00000000000000000000000000000002-1795449600",
                "grants": {
                    "identity": "u12",
                    "voice": {
                        "incoming": { "allow": true },
                        "outgoing": { "application_sid": "AP00000000000000000000000000000003" },
                    },
                },
                "iat": 1795449600,
                "exp": 1795453200,
                "iss": "SK00000000000000000000000000000002",
                "sub": "AC00000000000000000000000000000001",
            })
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"key-secret").unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        assert_eq!(b64.decode(parts[2]).unwrap(), mac.finalize().into_bytes().to_vec(), "signed with the secret");
        let mut wrong = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"another").unwrap();
        wrong.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        assert_ne!(b64.decode(parts[2]).unwrap(), wrong.finalize().into_bytes().to_vec());
    }
}
