//! Sign-in, sign-out and the brand switcher.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use switchboard_core::auth as core_auth;
use switchboard_core::ids::BrandId;
use switchboard_core::secret::new_token;

use crate::auth::{Staff, Viewer, cookie, login_csrf_cookie_name, removal, safe_next, session_cookie_name};
use crate::error::PageError;
use crate::state::AppState;
use crate::views::LoginPage;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn render(page: LoginPage, status: StatusCode) -> Result<Response, PageError> {
    let html = page.render().map_err(|e| switchboard_core::Error::Unexpected(e.to_string()))?;
    Ok((status, Html(html)).into_response())
}

pub async fn login_page(
    State(state): State<AppState>,
    axum::Extension(viewer): axum::Extension<Viewer>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    let next = safe_next(q.next.as_deref().unwrap_or("/jobs")).to_string();
    if viewer.0.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let secure = state.config.secure_cookies();
    let name = login_csrf_cookie_name(secure);
    let (jar, csrf) = match jar.get(name) {
        Some(c) if !c.value().is_empty() => {
            let v = c.value().to_string();
            (jar, v)
        }
        _ => {
            let token = new_token();
            (jar.add(cookie(name, token.clone(), secure)), token)
        }
    };
    let page = render(LoginPage { csrf, email: String::new(), next, error: None }, StatusCode::OK)?;
    Ok((jar, page).into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let ip = crate::pages::client_ip(&state, peer, &headers);
    let account_key = format!("{ip}|{}", form.email.trim().to_lowercase());
    let next = safe_next(&form.next).to_string();
    let page = |error: String| LoginPage {
        csrf: form.csrf.clone(),
        email: form.email.clone(),
        next: next.clone(),
        error: Some(error),
    };

    let limits = &state.login_limits;
    let limited = limits.by_account.check(&account_key, now).and_then(|()| limits.by_address.check(&ip, now));
    if let Err(wait) = limited {
        let minutes = (wait.as_secs() + 59) / 60;
        let mut resp = render(
            page(format!(
                "Too many sign-in attempts. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )),
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return Ok(resp);
    }

    match core_auth::sign_in(&state.db, state.clock.as_ref(), &form.email, &form.password).await? {
        Some(session) => {
            limits.by_account.clear(&account_key);
            tracing::info!(user = %session.user.id, org = %session.user.org_id, "signed in");
            let secure = state.config.secure_cookies();
            let jar = jar.remove(removal(login_csrf_cookie_name(secure), secure)).add(cookie(
                session_cookie_name(secure),
                session.token,
                secure,
            ));
            Ok((jar, Redirect::to(&next)).into_response())
        }
        None => {
            limits.by_account.record(&account_key, now);
            limits.by_address.record(&ip, now);
            tracing::info!(ip = %ip, "failed sign-in");
            render(page("That email and password do not match an active account.".into()), StatusCode::UNAUTHORIZED)
        }
    }
}

pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> Result<Response, PageError> {
    let secure = state.config.secure_cookies();
    let name = session_cookie_name(secure);
    if let Some(c) = jar.get(name) {
        core_auth::sign_out(&state.db, c.value()).await?;
    }
    let jar = jar.remove(removal(name, secure));
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Deserialize)]
pub struct BrandSwitch {
    brand_id: String,
    #[serde(default)]
    return_to: String,
}

pub async fn switch_brand(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Form(form): Form<BrandSwitch>,
) -> Result<Response, PageError> {
    let brand = match form.brand_id.trim() {
        "" => None,
        raw => Some(BrandId(crate::pages::parse_id(raw)?)),
    };
    core_auth::set_session_brand(&state.db, viewer.user.org_id, viewer.session_id, brand).await?;
    Ok(Redirect::to(safe_next(&form.return_to)).into_response())
}
