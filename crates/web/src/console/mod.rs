//! The office console (HTML, signed in): one file per area, and the sidebar every page shares.

pub mod board;
pub mod board_week;
pub mod calls;
pub mod client;
pub mod customer_import;
pub mod customers;
pub mod desk;
pub mod desk_contacts;
pub mod desk_flow;
pub mod desk_settings;
pub mod events;
pub mod invoices;
pub mod jobs;
pub mod leads;
pub mod mail_sink;
pub mod new_job;
pub mod notifications;
pub mod oncall;
pub mod oncall_layers;
pub mod search;
pub mod session;
pub mod settings;
pub mod softphone;
pub mod technicians;
pub mod web_forms;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::response::Redirect;
use axum::routing::{get, post};
use switchboard_core::auth::SessionUser;
use switchboard_core::tenancy::{self, Brand};

use crate::error::PageError;
use crate::state::AppState;
use crate::views::Shell;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/jobs") }))
        .route("/login", get(session::login_page).post(session::login_submit))
        .route("/logout", post(session::logout))
        .route("/session/brand", post(session::switch_brand))
        .route("/jobs", get(jobs::index).post(new_job::create))
        .route("/jobs/new", get(new_job::new))
        .route("/jobs/{id}", get(jobs::show).post(jobs::update))
        .route("/jobs/{id}/status", post(jobs::set_status))
        .route("/jobs/{id}/locate", post(jobs::locate))
        .route("/jobs/{id}/assign", post(jobs::assign))
        .route("/jobs/{id}/line-items", post(jobs::add_line_item))
        .route("/jobs/{id}/line-items/{item}/delete", post(jobs::remove_line_item))
        .route(
            "/jobs/{id}/photos",
            post(jobs::add_photo).layer(DefaultBodyLimit::max(switchboard_core::storage::MAX_PHOTO_BYTES + 64 * 1024)),
        )
        .route("/jobs/{id}/photos/{photo}", get(jobs::photo))
        .route("/jobs/{id}/invoice", post(invoices::create_for_job))
        .route("/jobs/{id}/deposit", post(invoices::request_deposit))
        .route("/invoices", get(invoices::index))
        .route("/invoices/{id}", get(invoices::show))
        .route("/invoices/{id}/pdf", get(invoices::pdf))
        .route("/invoices/{id}/credit-notes/{number}", get(invoices::credit_note))
        .route("/invoices/{id}/lines", post(invoices::add_line))
        .route("/invoices/{id}/lines/{index}/delete", post(invoices::remove_line))
        .route("/invoices/{id}/terms", post(invoices::set_terms))
        .route("/invoices/{id}/send", post(invoices::send))
        .route("/invoices/{id}/payments", post(invoices::record_payment))
        .route("/invoices/{id}/refund", post(invoices::refund))
        .route("/invoices/{id}/void", post(invoices::void))
        .route("/invoices/{id}/reissue", post(invoices::reissue))
        .route("/calls", get(calls::index))
        .route("/calls/dial", post(calls::dial))
        .route("/softphone", get(softphone::show))
        .route("/softphone/token", get(softphone::token))
        .route("/softphone/calls/{id}/{action}", post(softphone::act))
        .route("/calls/{id}/recordings/{recording}", get(calls::recording))
        .route("/settings/calls", get(calls::settings))
        .route("/settings/calls/{brand}", post(calls::save_settings))
        .route("/settings/billing", get(invoices::settings))
        .route("/settings/billing/{brand}", post(invoices::save_settings))
        .route("/events", get(events::stream))
        .route("/board", get(board::index))
        .route("/board/move", post(board::move_job))
        .route("/search", get(search::index))
        .route("/leads", get(leads::index))
        .route("/leads/unread", get(leads::unread))
        .route("/leads/{id}", get(leads::show))
        .route("/leads/{id}/thread", get(leads::thread))
        .route("/leads/{id}/reply", post(leads::reply))
        .route("/leads/{id}/convert", post(leads::convert))
        .route("/leads/{id}/archive", post(leads::archive))
        .route("/leads/{id}/restore", post(leads::restore))
        .route("/oncall", get(oncall::index).post(oncall_layers::create))
        .route("/oncall/new", get(oncall_layers::new))
        .route("/oncall/{id}", get(oncall::show))
        .route("/oncall/{id}/layers", get(oncall_layers::edit).post(oncall_layers::save))
        .route("/oncall/{id}/swaps/{swap}/{what}", post(oncall::swap_action))
        .route("/oncall/{id}/mine", get(oncall::mine))
        .route("/oncall/{id}/mine/offer", post(oncall::mine_offer))
        .route("/oncall/{id}/mine/swaps/{swap}/{what}", post(oncall::mine_swap))
        .route("/oncall/{id}/overrides", post(oncall::add_override))
        .route("/oncall/{id}/links", post(oncall::new_link))
        .route("/oncall/{id}/links/stop", post(oncall::stop_links))
        .route("/oncall/{id}/handoff", post(oncall::set_handoff))
        .route("/oncall/{id}/overrides/{override_id}/remove", post(oncall::remove_override))
        .route("/demo/mail", get(mail_sink::index))
        .route("/demo/mail/{n}/html", get(mail_sink::html))
        .route("/customers", get(customers::index).post(customers::create))
        .route("/customers/new", get(customers::new))
        .route(
            "/customers/import",
            get(customer_import::start)
                .post(customer_import::preview)
                .layer(DefaultBodyLimit::max(switchboard_core::customers::import::MAX_BYTES * 2 + 64 * 1024)),
        )
        .route(
            "/customers/import/confirm",
            post(customer_import::confirm)
                .layer(DefaultBodyLimit::max(switchboard_core::customers::import::MAX_BYTES * 4 + 64 * 1024)),
        )
        .route("/customers/{id}", get(customers::show).post(customers::update))
        .route("/customers/{id}/edit", get(customers::edit))
        .route("/customers/{id}/message", post(customers::message))
        .route("/customers/{id}/locations", post(customers::add_location))
        .route("/customers/{id}/locations/{location}", post(customers::update_location))
        .route("/customers/{id}/locations/{location}/remove", post(customers::remove_location))
        .route("/settings", get(|| async { Redirect::to("/settings/brands") }))
        .route("/settings/brands", get(settings::brands).post(settings::create_brand))
        .route("/settings/brands/new", get(settings::new_brand))
        .route("/settings/brands/{id}", get(settings::edit_brand).post(settings::update_brand))
        .route("/settings/users", get(settings::users).post(settings::create_user))
        .route("/settings/users/new", get(settings::new_user))
        .route("/settings/users/{id}", get(settings::edit_user).post(settings::update_user))
        .route("/settings/users/{id}/password", post(settings::set_password))
        .route("/settings/notifications", get(notifications::index))
        .route("/settings/notifications/preview", post(notifications::preview_fragment))
        .route("/settings/notifications/{brand}/prefs", post(notifications::save_prefs))
        .route("/settings/notifications/{brand}/{kind}", post(notifications::save_kind))
        .route("/settings/technicians", get(technicians::index).post(technicians::create))
        .route("/settings/technicians/{id}", get(technicians::edit).post(technicians::update))
        .route("/settings/technicians/{id}/revoke-links", post(technicians::revoke_links))
        .route(
            "/settings/technicians/{id}/photo",
            post(technicians::upload_photo)
                .layer(DefaultBodyLimit::max(switchboard_core::storage::MAX_PHOTO_BYTES + 64 * 1024)),
        )
        .route("/settings/technicians/{id}/new-link", post(technicians::new_link))
        .route("/settings/api-keys", get(settings::api_keys).post(settings::create_api_key))
        .route("/settings/api-keys/{id}/revoke", post(settings::revoke_api_key))
        .route("/settings/engine", get(settings::engine))
        .route("/desk", get(desk::index))
        .route("/desk/messages", post(desk::take))
        .route("/desk/suggest", post(desk::suggest))
        .route("/client", get(client::index))
        .route("/client/messages/{id}/retrieve", post(client::retrieve))
        .route("/desk/messages/{id}/retrieve", post(desk::retrieve))
        .route("/desk/messages/{id}/redeliver", post(desk::redeliver))
        .route("/desk/messages/{id}/forward", post(desk::forward))
        .route("/desk/messages/{id}/notes", post(desk::add_note))
        .route("/desk/messages/{id}/confirm", post(desk::confirm))
        .route("/settings/desk", get(desk_settings::index))
        .route("/settings/desk/{id}", get(desk_settings::edit).post(desk_settings::update))
        .route("/settings/desk/{id}/template", post(desk_settings::apply_template))
        .route("/settings/desk/{id}/contacts", get(desk_contacts::index).post(desk_contacts::add))
        .route("/settings/desk/{id}/contacts/{contact}", post(desk_contacts::update))
        .route("/settings/desk/{id}/contacts/{contact}/remove", post(desk_contacts::remove))
        .route("/settings/web-forms", get(web_forms::index).post(web_forms::create))
        .route("/settings/web-forms/{id}", get(web_forms::edit).post(web_forms::update))
        .route("/settings/web-forms/{id}/delete", post(web_forms::delete))
        .route("/settings/engine/{id}/retry", post(settings::retry_work))
}

/// The sidebar and top bar of every console page, with the viewer's org and brands.
pub async fn shell(
    state: &AppState,
    viewer: &SessionUser,
    active: &'static str,
    uri: &Uri,
) -> Result<(Shell, Vec<Brand>), PageError> {
    let org = tenancy::org(&state.db, viewer.user.org_id).await?;
    let brands = tenancy::list_brands(&state.db, viewer.user.org_id).await?;
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/jobs".into());
    let mut shell = Shell::new(active, viewer, org.name, &brands, path);
    shell.standin_url = state.standin.as_ref().map(|s| s.base_url());
    shell.mail_sink = state.mail_sink.is_some();
    shell.unread_leads = switchboard_core::leads::unread_count(&state.db, viewer.user.org_id, viewer.brand_id).await?;
    shell.oncall_gaps = state.oncall_gaps.get(&state.db, state.clock.now(), viewer.user.org_id).await?;
    Ok((shell, brands))
}
