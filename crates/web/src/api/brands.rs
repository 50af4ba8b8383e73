//! `/api/v1/brands`

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::ids::BrandId;
use switchboard_core::tenancy::{self, Brand, BrandInput};
use utoipa::ToSchema;

use super::{ApiId, ApiJson, not_found_as};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct BrandDto {
    pub id: i64,
    pub name: String,
    /// IANA time zone, e.g. `America/Denver`.
    pub time_zone: String,
    /// ISO 3166-1 code, e.g. `US`: phone numbers typed without a country code are read by its plan.
    pub country: String,
    /// Default SMS number in E.164, e.g. `+17205550100`.
    pub sms_number: Option<String>,
    pub inbound_email: Option<String>,
    /// `#rrggbb`
    pub color: String,
    pub logo_url: Option<String>,
    /// Job codes are `<prefix>-<number>`, e.g. `J-2206`.
    pub job_prefix: String,
    pub next_job_code: String,
    /// The reply to an inbound HELP (`null`: a default naming the brand and its number).
    pub sms_help_reply: Option<String>,
    /// A lead whose customer wrote one of these words or phrases is flagged urgent and sorted
    /// first (whole words, any case). Empty: no lead is flagged.
    pub urgent_words: Vec<String>,
    /// When the brand is open, in its time zone: each day `HH:MM-HH:MM` (24-hour; a close of
    /// `24:00` is midnight), `null` when closed. The board opens on these hours.
    pub working_hours: WeekHours,
}

/// A week of hours, Monday first: `"08:00-17:00"`, or `null` for closed.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct WeekHours {
    #[schema(pattern = r"^\d{2}:\d{2}-\d{2}:\d{2}$", example = "08:00-17:00")]
    #[serde(default)]
    pub mon: Option<String>,
    #[schema(pattern = r"^\d{2}:\d{2}-\d{2}:\d{2}$")]
    #[serde(default)]
    pub tue: Option<String>,
    #[schema(pattern = r"^\d{2}:\d{2}-\d{2}:\d{2}$")]
    #[serde(default)]
    pub wed: Option<String>,
    #[schema(pattern = r"^\d{2}:\d{2}-\d{2}:\d{2}$")]
    #[serde(default)]
    pub thu: Option<String>,
    #[schema(pattern = r"^\d{2}:\d{2}-\d{2}:\d{2}$")]
    #[serde(default)]
    pub fri: Option<String>,
    #[schema(pattern = r"^\d{2}:\d{2}-\d{2}:\d{2}$")]
    #[serde(default)]
    pub sat: Option<String>,
    #[schema(pattern = r"^\d{2}:\d{2}-\d{2}:\d{2}$")]
    #[serde(default)]
    pub sun: Option<String>,
}

impl WeekHours {
    fn of(h: &tenancy::WorkingHours) -> WeekHours {
        let text = |w: jiff::civil::Weekday| h.day(w).map(|d| d.to_text());
        use jiff::civil::Weekday::*;
        WeekHours {
            mon: text(Monday),
            tue: text(Tuesday),
            wed: text(Wednesday),
            thu: text(Thursday),
            fri: text(Friday),
            sat: text(Saturday),
            sun: text(Sunday),
        }
    }

    /// As typed input: a day not given, or `null`, is closed.
    fn into_inputs(self) -> Vec<tenancy::DayInput> {
        [
            ("mon", self.mon),
            ("tue", self.tue),
            ("wed", self.wed),
            ("thu", self.thu),
            ("fri", self.fri),
            ("sat", self.sat),
            ("sun", self.sun),
        ]
        .into_iter()
        .map(|(day, range)| {
            let range = range.unwrap_or_default();
            let (open, close) = range.split_once('-').unwrap_or((range.as_str(), ""));
            tenancy::DayInput { day: day.into(), open: open.trim().into(), close: close.trim().into() }
        })
        .collect()
    }
}

impl From<Brand> for BrandDto {
    fn from(b: Brand) -> Self {
        BrandDto {
            next_job_code: format!("{}-{}", b.job_prefix, b.next_job_number),
            id: b.id.0,
            name: b.name,
            time_zone: b.time_zone.to_string(),
            country: b.country.code().to_string(),
            sms_number: b.sms_number.map(|p| p.to_string()),
            inbound_email: b.inbound_email.map(|e| e.to_string()),
            color: b.color,
            logo_url: b.logo_url,
            job_prefix: b.job_prefix,
            sms_help_reply: b.sms_help_reply,
            urgent_words: b.urgent_words.phrases(),
            working_hours: WeekHours::of(&b.working_hours),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BrandList {
    pub brands: Vec<BrandDto>,
}

#[derive(Serialize, ToSchema)]
pub struct BrandEnvelope {
    pub brand: BrandDto,
}

/// A brand to create, or the full new state of one to replace.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandBody {
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub name: String,
    /// An IANA time zone.
    #[schema(min_length = 1, pattern = r"\S", example = "America/Denver")]
    pub time_zone: String,
    /// ISO 3166-1 code; absent or empty is `US`.
    #[schema(pattern = r"^\s*([A-Za-z]{2})?\s*$", example = "US")]
    pub country: Option<String>,
    /// Any common format; a national number is read by the brand's country.
    #[schema(max_length = 32, pattern = r"^[0-9+()./\s-]*$", example = "(720) 555-0190")]
    pub sms_number: Option<String>,
    #[schema(format = Email)]
    pub inbound_email: Option<String>,
    /// `#rrggbb`; absent or empty is the default blue.
    #[schema(pattern = r"^\s*(#[0-9a-fA-F]{6})?\s*$", example = "#2563eb")]
    pub color: Option<String>,
    /// An `https://` (or `/`) address of an image.
    #[schema(max_length = 500, pattern = r#"^\s*((https?://|/)[^\s"<]*)?\s*$"#)]
    pub logo_url: Option<String>,
    /// 1-4 capital letters; absent or empty is `J`.
    #[schema(pattern = r"^\s*([A-Z]{1,4})?\s*$", example = "J")]
    pub job_prefix: Option<String>,
    #[schema(max_length = 320)]
    pub sms_help_reply: Option<String>,
    /// Absent: the built-in list (no heat, flooding, gas smell, ...).
    /// Each at most 60 characters.
    #[schema(max_items = 100)]
    pub urgent_words: Option<Vec<String>>,
    /// Absent: Monday to Friday, 08:00-17:00. A day left out is closed.
    pub working_hours: Option<WeekHours>,
}

/// Fields to change; absent fields keep their value, `null` clears optional ones.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandPatch {
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(min_length = 1, pattern = r"\S", example = "America/Denver")]
    pub time_zone: Option<String>,
    #[schema(pattern = r"^\s*([A-Za-z]{2})?\s*$", example = "US")]
    pub country: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 32, pattern = r"^[0-9+()./\s-]*$")]
    pub sms_number: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, format = Email)]
    pub inbound_email: Option<Option<String>>,
    #[schema(pattern = r"^\s*(#[0-9a-fA-F]{6})?\s*$", example = "#2563eb")]
    pub color: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r#"^\s*((https?://|/)[^\s"<]*)?\s*$"#)]
    pub logo_url: Option<Option<String>>,
    #[schema(pattern = r"^\s*([A-Z]{1,4})?\s*$", example = "J")]
    pub job_prefix: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 320)]
    pub sms_help_reply: Option<Option<String>>,
    /// Each at most 60 characters.
    #[schema(max_items = 100)]
    pub urgent_words: Option<Vec<String>>,
    /// The whole week at once: a day left out is closed.
    pub working_hours: Option<WeekHours>,
}

/// Tells "absent" (outer `None`) from "null" (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

#[utoipa::path(get, path = "/brands", tag = "brands",
    responses((status = 200, body = BrandList), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<BrandList>, ApiError> {
    let brands = tenancy::list_brands(&state.db, caller.org).await?;
    Ok(Json(BrandList { brands: brands.into_iter().map(BrandDto::from).collect() }))
}

#[utoipa::path(post, path = "/brands", tag = "brands", request_body = BrandBody,
    responses((status = 201, body = BrandEnvelope), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<BrandBody>,
) -> Result<(StatusCode, Json<BrandEnvelope>), ApiError> {
    let input = BrandInput {
        name: body.name,
        time_zone: body.time_zone,
        country: body.country,
        sms_number: body.sms_number,
        inbound_email: body.inbound_email,
        color: body.color,
        logo_url: body.logo_url,
        job_prefix: body.job_prefix,
        sms_help_reply: body.sms_help_reply,
        urgent_words: body.urgent_words.map(|w| w.join("\n")),
        working_hours: body.working_hours.map(WeekHours::into_inputs),
    };
    let brand = tenancy::create_brand(&state.db, state.clock.as_ref(), caller.org, &input).await?;
    Ok((StatusCode::CREATED, Json(BrandEnvelope { brand: brand.into() })))
}

#[utoipa::path(get, path = "/brands/{id}", tag = "brands", params(("id" = i64, Path, description = "Brand id")),
    responses((status = 200, body = BrandEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<BrandEnvelope>, ApiError> {
    let brand = tenancy::brand(&state.db, caller.org, BrandId(id)).await.map_err(|e| not_found_as(e, "brand"))?;
    Ok(Json(BrandEnvelope { brand: brand.into() }))
}

#[utoipa::path(patch, path = "/brands/{id}", tag = "brands", params(("id" = i64, Path, description = "Brand id")), request_body = BrandPatch,
    responses((status = 200, body = BrandEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(patch): ApiJson<BrandPatch>,
) -> Result<Json<BrandEnvelope>, ApiError> {
    let current = tenancy::brand(&state.db, caller.org, BrandId(id)).await.map_err(|e| not_found_as(e, "brand"))?;
    let input = BrandInput {
        name: patch.name.unwrap_or(current.name),
        time_zone: patch.time_zone.unwrap_or_else(|| current.time_zone.to_string()),
        country: Some(patch.country.unwrap_or_else(|| current.country.code().to_string())),
        sms_number: patch.sms_number.unwrap_or_else(|| current.sms_number.map(|p| p.to_string())),
        inbound_email: patch.inbound_email.unwrap_or_else(|| current.inbound_email.map(|e| e.to_string())),
        color: Some(patch.color.unwrap_or(current.color)),
        logo_url: patch.logo_url.unwrap_or(current.logo_url),
        job_prefix: Some(patch.job_prefix.unwrap_or(current.job_prefix)),
        sms_help_reply: patch.sms_help_reply.unwrap_or(current.sms_help_reply),
        urgent_words: Some(patch.urgent_words.map(|w| w.join("\n")).unwrap_or_else(|| current.urgent_words.to_text())),
        working_hours: Some(
            patch.working_hours.map(WeekHours::into_inputs).unwrap_or_else(|| current.working_hours.as_inputs()),
        ),
    };
    let brand = tenancy::update_brand(&state.db, state.clock.as_ref(), caller.org, BrandId(id), &input)
        .await
        .map_err(|e| not_found_as(e, "brand"))?;
    Ok(Json(BrandEnvelope { brand: brand.into() }))
}
