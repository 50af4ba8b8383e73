//! Pages and faxes of desk messages through their real wire formats: a page over SNPP (RFC
//! 1861) to the paging stand-in, or by email to an email-to-pager address; a fax as an email
//! to the fax gateway with the message as a PDF, read back page by page. Each page and fax is
//! checked word for word, and so is what the board says when one cannot go.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_core::providers::snpp::SnppServer;
use switchboard_standins::fax::FaxGateway;
use switchboard_standins::snpp::{Page, SnppStandin};

use crate::desk_delivery::{Client, deliveries, row};
use crate::helpers::{TestApp, spawn_app_with};

const PAGE: &str = "Lakeside Clinic message (Patient): Caller's name: Jo Park; Callback number: (312) 555-0188; \
                    Patient's date of birth: Wed Feb 29, 1984; Reason for the call: Refill of blood pressure medication. \
                    Taken 9:00 AM Tue Dec 8.";

/// Lakeside Clinic: patients' routine messages paged to the on-call doctor and faxed to the
/// office manager.
async fn clinic(app: TestApp, pager: &str, fax: &str) -> Client {
    let c = Client::on(app, "Lakeside Clinic", "medical_clinic").await;
    let doctor = c.reach("On-call doctor", json!([{ "kind": "pager", "value": pager }])).await;
    let office = c.reach("Office manager", json!([{ "kind": "fax", "value": fax }])).await;
    c.edit_protocol(|p| {
        p["caller_types"][0]["deliveries"] = json!([
            { "urgent": false, "when": "always", "method": "pager", "contacts": [doctor] },
            { "urgent": false, "when": "always", "method": "fax", "contacts": [office] },
        ])
    })
    .await;
    // Tuesday 9:00 AM in Chicago.
    c.at("2026-12-08T15:00:00Z");
    c
}

async fn take(c: &Client) -> Value {
    let answers = json!({
        "caller_name": "Jo Park",
        "callback_number": "(312) 555-0188",
        "date_of_birth": "1984-02-29",
        "reason_for_the_call": "Refill of blood pressure medication",
    });
    let (status, body) = c.take("patient", answers, json!({})).await;
    assert_eq!(status, 201, "{body}");
    c.run_engine().await;
    let id = body["message"]["id"].as_i64().unwrap();
    c.get(&format!("/api/v1/desk/messages/{id}")).await["message"].clone()
}

#[tokio::test]
async fn a_message_is_paged_over_snpp_and_faxed_as_a_pdf_through_the_gateway() {
    let snpp = SnppStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let server = SnppServer::parse(&snpp.url()).unwrap();
    let app = spawn_app_with(move |cfg| {
        cfg.snpp = Some(server);
        cfg.fax_gateway = Some("{number}@fax.gateway.example".into());
    })
    .await;
    let c = clinic(app, "(312) 555-0177", "(312) 555-0199").await;
    let m = take(&c).await;

    // The page: the pager's number as the paging company knows it, the message on one line.
    let pages = snpp.wait_for(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(pages, [Page { pager_id: "3125550177".into(), text: PAGE.into() }]);
    assert!(PAGE.chars().count() <= 240, "fits an alphanumeric pager");

    // The fax: an email to the gateway for the number, the message in the attached PDF.
    let fax = c.app.mail.expect_mail("13125550199@fax.gateway.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(fax.subject, "Message for Lakeside Clinic from Jo Park");
    assert_eq!(fax.text, "Message for Lakeside Clinic from Jo Park: the message is in the attached PDF (1 page).");
    let id = m["id"].as_i64().unwrap();
    assert_eq!(fax.attachments.len(), 1);
    let (name, kind, pdf) = &fax.attachments[0];
    assert_eq!((name.as_str(), kind.as_str()), (format!("message-{id}.pdf").as_str(), "application/pdf"));
    assert_eq!(pdf.len(), fax.attachments[0].2.len());
    // What the gateway sends the fax machine at that number.
    let sent = FaxGateway::over(&c.app.mail, "fax.gateway.example").read(&fax).unwrap();
    assert_eq!(sent.number, "13125550199");
    assert_eq!(
        sent.pages,
        [[
            "Message for Lakeside Clinic from Jo Park",
            "Message for Lakeside Clinic, taken at 9:00 AM Tue Dec 8.",
            "Caller: Patient",
            "Caller's name: Jo Park",
            "Callback number: (312) 555-0188",
            "Patient's date of birth: Wed Feb 29, 1984",
            "Reason for the call: Refill of blood pressure medication",
            "Page 1 of 1",
        ]]
    );

    c.app.mail.expect_mail("13125550199@fax.gateway.example", Duration::from_millis(200)).await.unwrap_err();
    // The board offers to send a paged and faxed message again, as it does an emailed one.
    let b = c.app.signed_in("admin@answering.example.com").await;
    let (_, html) = b.get_text(&format!("/desk?client={}", c.brand)).await;
    assert!(
        html.contains(&format!(
            r#"<form method="post" action="/desk/messages/{id}/redeliver"><input type="hidden" name="_csrf""#
        )),
        "{html}"
    );
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await["message"].clone();
    assert_eq!(
        deliveries(&m),
        [
            row(
                "pager",
                "On-call doctor",
                "+13125550177",
                "sent",
                "the paging server said: 250 Message Sent Successfully"
            ),
            row("fax", "Office manager", "+13125550199", "sent", ""),
        ]
    );
    assert_eq!(m["status"], "delivered");

    // The paging company no longer knows the pager: sending again fails with its answer.
    snpp.forget_pager("3125550177");
    let (status, body) = c.post(&format!("/api/v1/desk/messages/{id}/redeliver"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    c.run_engine().await;
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await["message"].clone();
    assert_eq!(
        deliveries(&m)[2],
        row(
            "pager",
            "On-call doctor",
            "+13125550177",
            "failed",
            "the paging server refused it: 550 Error, Invalid Pager ID"
        )
    );
    assert_eq!(deliveries(&m)[3].0, "fax", "the fax went again too");

    // The paging server is busy until the last try: the page fails with why.
    snpp.busy_next(100);
    c.post(&format!("/api/v1/desk/messages/{id}/redeliver"), json!({})).await;
    for _ in 0..10 {
        c.run_engine().await;
        c.app.clock.advance(jiff::SignedDuration::from_hours(1));
    }
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await["message"].clone();
    assert_eq!(
        deliveries(&m)[4],
        row(
            "pager",
            "On-call doctor",
            "+13125550177",
            "failed",
            "the paging server said: 421 Too Many Connections, try again later"
        )
    );
}

#[tokio::test]
async fn pagers_and_faxes_given_as_addresses_go_by_email_and_numbers_with_nowhere_to_go_say_why() {
    let app = spawn_app_with(|_| {}).await;
    let c = clinic(app, "3125550177@pager.example.net", "(312) 555-0199").await;
    let m = take(&c).await;
    let page = c.app.mail.expect_mail("3125550177@pager.example.net", Duration::from_secs(5)).await.unwrap();
    assert_eq!((page.subject.as_str(), page.text.as_str()), ("Lakeside Clinic", PAGE));
    assert_eq!(
        deliveries(&m),
        [
            row("pager", "On-call doctor", "3125550177@pager.example.net", "sent", ""),
            row(
                "fax",
                "Office manager",
                "+13125550199",
                "failed",
                "no fax gateway is set up for fax numbers (SWITCHBOARD_FAX_GATEWAY): give the fax gateway's address instead"
            ),
        ]
    );
    assert_eq!(m["status"], "delivered", "the page reached someone");

    let app = spawn_app_with(|_| {}).await;
    let c = clinic(app, "(312) 555-0177", "13125550199@rcfax.example").await;
    let m = take(&c).await;
    let fax =
        FaxGateway::over(&c.app.mail, "rcfax.example").expect_fax("13125550199", Duration::from_secs(5)).await.unwrap();
    assert_eq!(fax.pages.len(), 1);
    assert_eq!(fax.pages[0][0], "Message for Lakeside Clinic from Jo Park");
    assert_eq!(
        deliveries(&m),
        [
            row(
                "pager",
                "On-call doctor",
                "+13125550177",
                "failed",
                "no paging server is set up for pager numbers (SWITCHBOARD_SNPP_URL): give the pager's email address instead"
            ),
            row("fax", "Office manager", "13125550199@rcfax.example", "sent", ""),
        ]
    );
}
