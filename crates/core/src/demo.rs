//! The demo organization (`--demo`): two brands, office staff, technicians with photos and
//! ratings, customers, and jobs in every status, placed around today in each brand's zone.
//!
//! Seeding runs in one transaction and only when the `demo` organization does not exist, so
//! restarting with `--demo` neither duplicates nor erases anything.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::clock::Clock;
use crate::customers::{self, NewCustomer};
use crate::db::{Db, Tx};
use crate::ids::{BrandId, CustomerId, OrgId, TechnicianId};
use crate::jobs::{self, JobStatus, NewJob};
use crate::parse::{EmailAddress, PhoneE164};
use crate::technicians::{self, NewTechnician};
use crate::tenancy::model::ValidNewUser;
use crate::tenancy::{self, BrandInput, Role};
use crate::{Error, Result};

pub const DEMO_ORG_SLUG: &str = "demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.switchboard.test";
/// The demo's sign-in is printed on start; it is a demo, not a secret.
pub const DEMO_ADMIN_PASSWORD: &str = "switchboard-demo";

#[derive(Debug)]
pub struct DemoLogin {
    pub email: &'static str,
    pub password: &'static str,
    /// False when the demo organization was already there.
    pub created: bool,
}

/// Seeds the demo organization unless it exists.
pub async fn seed(db: &Db, clock: &dyn Clock) -> Result<DemoLogin> {
    let login = |created| DemoLogin { email: DEMO_ADMIN_EMAIL, password: DEMO_ADMIN_PASSWORD, created };
    if tenancy::org_by_slug(db, DEMO_ORG_SLUG).await?.is_some() {
        return Ok(login(false));
    }
    let admin_hash = crate::secret::hash_password(DEMO_ADMIN_PASSWORD.to_string()).await?;
    let mut tx = db.begin().await?;
    match seed_in(&mut tx, clock, &admin_hash).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(login(true))
        }
        // Another process seeded it between our check and our insert.
        Err(Error::Conflict(_)) => Ok(login(false)),
        Err(e) => Err(e),
    }
}

fn phone(s: &str) -> Result<PhoneE164> {
    PhoneE164::parse(s).map_err(Error::Unexpected)
}

fn email(s: &str) -> Result<EmailAddress> {
    EmailAddress::parse(s).map_err(Error::Unexpected)
}

/// A local wall-clock time on `date` in `tz`, as a UTC instant.
fn at(tz: &TimeZone, date: Date, hour: i8, minute: i8) -> Result<Timestamp> {
    let time = Time::new(hour, minute, 0, 0).map_err(|e| Error::Unexpected(e.to_string()))?;
    date.to_datetime(time).to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|e| Error::Unexpected(e.to_string()))
}

struct Brands {
    summit: BrandId,
    harbor: BrandId,
}

async fn seed_in(tx: &mut Tx, clock: &dyn Clock, admin_hash: &str) -> Result<()> {
    let org = tenancy::create_org_in(tx, clock, DEMO_ORG_SLUG, "Demo Home Services").await?.id;
    let brands = seed_brands(tx, clock, org).await?;
    seed_staff(tx, clock, org, admin_hash).await?;
    let techs = seed_technicians(tx, clock, org, &brands).await?;
    let customers = seed_customers(tx, clock, org).await?;
    seed_jobs(tx, clock, org, &brands, &techs, &customers).await?;
    seed_billing(tx, clock, org, &brands).await?;
    seed_calls(tx, clock, org, &brands).await?;
    seed_inbox(tx, clock, org, &brands).await?;
    seed_notifications(tx, clock, org, &brands).await?;
    // Harbor answers its own after-hours calls at the message desk, by the plumbing template:
    // routine messages by email to the office, urgent ones by email and text to the on-call
    // technician and the office.
    let harbor = tenancy::brand_in(tx, org, brands.harbor).await?;
    let people = [
        ("Office", "Dispatch desk", vec![("email", "office@harbor.demo.switchboard.test")]),
        (
            "On-call technician",
            "Whoever has the after-hours phone",
            vec![("cell", "(617) 555-0148"), ("email", "oncall@harbor.demo.switchboard.test")],
        ),
    ];
    let mut ids = Vec::new();
    for (name, title, methods) in people {
        let input = crate::desk::contacts::ContactInput {
            name: name.into(),
            title: title.into(),
            methods: methods.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        ids.push(crate::desk::contacts::create_in(tx, clock, &harbor, &input).await?);
    }
    let mut input = crate::desk::template_input_in(tx, clock, org, brands.harbor, "hvac_plumbing").await?;
    let schedule = seed_oncall(tx, clock, &harbor, ids[0], ids[1]).await?;
    // Urgent messages run the plumbing protocol's urgent flow over Harbor's on-call schedule:
    // text the on-call technician for a reply code, call their cell, call their home, again
    // until someone confirms.
    for c in &mut input.caller_types {
        c.urgent_flow = Some(crate::desk::flow::templates::hvac(schedule));
    }
    // When nobody confirms, the office is emailed.
    input.fallback =
        Some(crate::desk::flow::Target::Contact { id: ids[0], channel: crate::desk::flow::Channel::Email });
    crate::desk::save_in(tx, clock, org, brands.harbor, "system", &input, None).await?;
    Ok(())
}

/// Harbor's office covers weekdays 8:00 AM to 5:00 PM; its after-hours technicians take nights
/// and weekends in daily turns (handing off at 5:00 PM), and one of them has a night off next
/// week, covered by the on-call phone.
async fn seed_oncall(
    tx: &mut Tx,
    clock: &dyn Clock,
    harbor: &tenancy::Brand,
    office: i64,
    oncall_phone: i64,
) -> Result<i64> {
    use crate::oncall::{Change, Layer, Member, Rotation, ShiftLength, Window};
    use jiff::civil::Weekday;
    let mut people = Vec::new();
    for (name, cell) in [("Priya Raman", "(617) 555-0151"), ("Dale Okoro", "(617) 555-0152")] {
        let input = crate::desk::contacts::ContactInput {
            name: name.into(),
            title: "After-hours technician".into(),
            methods: vec![("cell".into(), cell.into())],
            ..Default::default()
        };
        people.push(Member::Contact(crate::desk::contacts::create_in(tx, clock, harbor, &input).await?));
    }
    let tz = harbor.zone();
    let today = clock.now().to_zoned(tz.clone()).date();
    // The Monday of last week: the turns are already under way.
    let back = i64::from(today.weekday().to_monday_zero_offset()) + 7;
    let start = today.checked_sub(jiff::Span::new().days(back)).map_err(|e| Error::Unexpected(e.to_string()))?;
    let time = |h: i8| Time::new(h, 0, 0, 0).map_err(|e| Error::Unexpected(e.to_string()));
    let weekdays = vec![Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday];
    let office_hours = Layer {
        name: "Office hours".into(),
        rotation: Rotation {
            members: vec![Member::Contact(office)],
            length: ShiftLength::Weeks(1),
            start: start.to_datetime(time(8)?),
        },
        windows: vec![Window { days: weekdays.clone(), start: time(8)?, end: time(17)? }],
    };
    let layer = Layer {
        name: "Nights and weekends".into(),
        rotation: Rotation {
            members: people.clone(),
            length: ShiftLength::Days(1),
            start: start.to_datetime(time(17)?),
        },
        windows: vec![
            Window { days: weekdays, start: time(17)?, end: time(8)? },
            Window { days: vec![Weekday::Saturday, Weekday::Sunday], start: time(0)?, end: time(0)? },
            Window { days: vec![Weekday::Monday], start: time(0)?, end: time(8)? },
        ],
    };
    let id =
        crate::oncall::store::create_in(tx, clock, harbor.org_id, harbor.id, "Harbor on call", &[office_hours, layer])
            .await?;
    // Next Tuesday night (Dale's turn: odd days from the start), 5:00 PM to Wednesday 8:00 AM:
    // Dale is off; the on-call phone covers.
    let tuesday = start.checked_add(jiff::Span::new().days(15)).map_err(|e| Error::Unexpected(e.to_string()))?;
    let wednesday = tuesday.tomorrow().map_err(|e| Error::Unexpected(e.to_string()))?;
    let change = Change::Replace { from: Some(people[1]), to: Member::Contact(oncall_phone) };
    let range = (at(&tz, tuesday, 17, 0)?, at(&tz, wednesday, 8, 0)?);
    let now = crate::clock::to_millis(clock.now());
    crate::oncall::store::insert_override_in(
        tx,
        harbor.org_id,
        id,
        range,
        &change,
        Some("Dale's night off"),
        "system",
        now,
    )
    .await?;
    Ok(id)
}

/// A clock stopped at one instant: a demo message "arrived" a while ago.
#[derive(Debug)]
struct At(Timestamp);

impl Clock for At {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// A web form per brand, and the inbox a dispatcher finds on a Monday morning: an urgent text,
/// a web-form request, an email and an ordinary text, unread, from people who are not yet
/// customers (one texts from a customer's number, so the lead shows who it is).
async fn seed_inbox(tx: &mut Tx, clock: &dyn Clock, org: OrgId, b: &Brands) -> Result<()> {
    use crate::leads::{self, Contact, LeadSource, NewLeadMessage};
    use crate::messaging;
    use crate::webforms::{self, FormInput};
    for (brand, name) in [(b.summit, "Website contact form"), (b.harbor, "Request service")] {
        let input = FormInput { brand, name: name.into(), redirect_url: None, allowed_origins: String::new() };
        webforms::create_in(tx, clock, org, &input).await?;
    }
    let summit = tenancy::brand_in(tx, org, b.summit).await?;
    let harbor = tenancy::brand_in(tx, org, b.harbor).await?;
    let now = clock.now();
    struct Demo<'a> {
        brand: &'a tenancy::Brand,
        source: LeadSource,
        minutes_ago: i64,
        contact: Contact,
        subject: Option<&'a str>,
        body: &'a str,
    }
    let inbox = [
        Demo {
            brand: &harbor,
            source: LeadSource::Email,
            minutes_ago: 22 * 60,
            contact: Contact {
                name: Some("Kofi Mensah".into()),
                email: Some("kofi.mensah@example.com".into()),
                ..Contact::default()
            },
            subject: Some("Quote for a new water heater"),
            body: "Hello, our water heater is 14 years old and we'd like a quote to replace it with a tankless one. \
                   We're at 9 Beacon St, Boston. Evenings are best. Thanks, Kofi",
        },
        Demo {
            brand: &summit,
            source: LeadSource::Web,
            minutes_ago: 3 * 60 + 10,
            contact: Contact {
                name: Some("Dana Whitfield".into()),
                phone: Some(phone("+17205550171")?),
                email: Some("dana.whitfield@example.com".into()),
                address: Some("2940 Lowell Blvd, Denver, CO 80211".into()),
                service: Some("AC tune-up".into()),
            },
            subject: Some("Website contact form"),
            body: "Service: AC tune-up\nCould someone check our AC before it gets hot? Any weekday morning works.",
        },
        Demo {
            brand: &summit,
            source: LeadSource::Sms,
            minutes_ago: 95,
            contact: Contact { phone: Some(phone("+17205550134")?), ..Contact::default() },
            subject: None,
            body: "Hi, it's Rachel Cohen. The thermostat you installed keeps resetting. Can someone take a look this week?",
        },
        Demo {
            brand: &summit,
            source: LeadSource::Sms,
            minutes_ago: 12,
            contact: Contact { phone: Some(phone("+17205550188")?), ..Contact::default() },
            subject: None,
            body: "Our furnace quit overnight and there's no heat in the house. Two little kids here. Can anyone come today?",
        },
    ];
    for (n, d) in inbox.into_iter().enumerate() {
        let at = At(now - jiff::SignedDuration::from_mins(d.minutes_ago));
        let channel = d.source.as_str();
        // Texts and emails are stored as they arrive for real, so they show on the sender's
        // customer card and in the message log too; a web form's request is only the lead's.
        let message_id = match (d.source, &d.contact.phone, &d.contact.email) {
            (LeadSource::Sms, Some(from), _) => {
                let sms = messaging::InboundSms {
                    provider: "demo",
                    provider_id: format!("demo-{n}"),
                    from: from.as_str().to_string(),
                    to: d.brand.sms_number.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
                    body: d.body.to_string(),
                };
                match messaging::record_inbound_sms_in(tx, &at, &sms).await? {
                    messaging::InboundOutcome::Stored { message, .. } => Some(message.0),
                    _ => return Err(Error::Unexpected("demo text was not stored".into())),
                }
            }
            (LeadSource::Email, _, Some(from)) => {
                let email = messaging::email::InboundEmail {
                    provider: "demo",
                    message_id: format!("<demo-{n}@demo.switchboard.test>"),
                    from: from.to_string(),
                    from_name: d.contact.name.clone(),
                    reply_to: None,
                    automated: false,
                    recipients: d.brand.inbound_email.iter().map(|e| e.to_string()).collect(),
                    subject: d.subject.unwrap_or_default().to_string(),
                    text: d.body.to_string(),
                    bounce: None,
                };
                let to = d.brand.inbound_email.as_ref().map(|e| e.to_string()).unwrap_or_default();
                messaging::email::record_inbound_email_in(tx, &at, d.brand, &to, &email).await?.map(|m| m.0)
            }
            _ => None,
        };
        let m = NewLeadMessage {
            inbound: true,
            channel,
            subject: d.subject,
            body: d.body,
            message_id,
            author: None,
            fields: None,
            call_id: None,
        };
        leads::capture_in(tx, &at, d.brand, d.source, &d.contact, &m).await?;
    }
    Ok(())
}

/// Summit tells its customers about their visits by text and email with the default wording
/// (the confirmation, the day-of reminder and "on the way" with the tracking link); Harbor
/// is left as a new brand starts, with everything off.
async fn seed_notifications(tx: &mut Tx, clock: &dyn Clock, org: OrgId, brands: &Brands) -> Result<()> {
    use crate::notifications::Kind;
    use crate::notifications::settings::{KindInput, save_kind_in};
    let summit = tenancy::brand_in(tx, org, brands.summit).await?;
    for kind in [Kind::Confirmation, Kind::Reminder, Kind::OnTheWay] {
        let input = KindInput {
            sms_enabled: true,
            email_enabled: true,
            sms_template: kind.default_sms().into(),
            email_subject: kind.default_email_subject().into(),
            email_template: kind.default_sms().into(),
        };
        save_kind_in(tx, clock, &summit, kind, &input).await?;
    }
    Ok(())
}

/// Weekday hours and weekend hours.
fn week(open: &str, close: &str, weekend_open: &str, weekend_close: &str) -> Vec<crate::tenancy::DayInput> {
    crate::tenancy::hours::DAYS
        .iter()
        .map(|(_, day, _)| {
            let weekend = matches!(*day, "sat" | "sun");
            let (o, c) = if weekend { (weekend_open, weekend_close) } else { (open, close) };
            crate::tenancy::DayInput { day: day.to_string(), open: o.into(), close: c.into() }
        })
        .collect()
}

async fn seed_brands(tx: &mut Tx, clock: &dyn Clock, org: OrgId) -> Result<Brands> {
    let summit = BrandInput {
        country: Some("US".into()),
        name: "Summit Home Services".into(),
        time_zone: "America/Denver".into(),
        sms_number: Some("+17205550100".into()),
        inbound_email: Some("jobs@summit.demo.switchboard.test".into()),
        color: Some("#2563eb".into()),
        logo_url: Some("/assets/demo/summit-logo.svg".into()),
        job_prefix: Some("J".into()),
        sms_help_reply: None,
        urgent_words: None,
        // An HVAC office that opens early on weekdays and keeps shorter weekend hours.
        working_hours: Some(week("7:00", "18:00", "8:00", "17:00")),
    };
    let harbor = BrandInput {
        country: Some("US".into()),
        name: "Harbor Plumbing & Drain".into(),
        time_zone: "America/New_York".into(),
        sms_number: Some("+16175550110".into()),
        inbound_email: Some("service@harbor.demo.switchboard.test".into()),
        color: Some("#0f766e".into()),
        logo_url: Some("/assets/demo/harbor-logo.svg".into()),
        job_prefix: Some("H".into()),
        sms_help_reply: Some(
            "Harbor Plumbing & Drain: call (617) 555-0110, 24/7 for emergencies. Reply STOP to opt out.".into(),
        ),
        // A plumber's emergencies.
        urgent_words: Some(
            "flooding\nflooded\nburst pipe\npipe burst\nsewage\nbacking up\noverflowing\nno water\nno hot water\ngas smell\nemergency"
                .into(),
        ),
        // Plumbing emergencies come at any hour; the office keeps long days.
        working_hours: Some(week("7:00", "19:00", "9:00", "17:00")),
    };
    // Summit's sequence starts where the demo table does: J-2199 is its oldest job shown.
    let summit = tenancy::create_brand_in(tx, clock, org, &summit, 2199).await?.id;
    let harbor = tenancy::create_brand_in(tx, clock, org, &harbor, 4101).await?.id;
    Ok(Brands { summit, harbor })
}

async fn seed_staff(tx: &mut Tx, clock: &dyn Clock, org: OrgId, admin_hash: &str) -> Result<()> {
    let staff = [
        (DEMO_ADMIN_EMAIL, "Morgan Lee", Role::Admin),
        ("avery@demo.switchboard.test", "Avery Brooks", Role::Dispatcher),
        ("kim@demo.switchboard.test", "Kim Nguyen", Role::Dispatcher),
        ("olivia@demo.switchboard.test", "Olivia Grant", Role::Operator),
    ];
    for (address, name, role) in staff {
        let user = ValidNewUser { email: email(address)?, name: name.into(), role, password: String::new() };
        // Only the admin can sign in with the printed password; the others get a password
        // nobody knows until an admin sets one.
        let hash = if role == Role::Admin {
            admin_hash.to_string()
        } else {
            crate::secret::hash_password(crate::secret::new_token()).await?
        };
        tenancy::create_user_in(tx, clock, org, &user, &hash).await?;
    }
    Ok(())
}

/// Calls to Summit's number ring Morgan's browser (the console's softphone) and Avery's and
/// Kim's cells at once, at any hour, recorded; each cell is a phone on the stand-in's phones
/// page, where the demo user answers and presses 1.
async fn seed_calls(tx: &mut Tx, clock: &dyn Clock, org: OrgId, b: &Brands) -> Result<()> {
    let mut routing = crate::calls::Routing::default_for(b.summit);
    routing.after_hours = crate::calls::AfterHours::Ring;
    crate::calls::store::save_routing(tx, org, &routing, crate::clock::to_millis(clock.now())).await?;
    let mut ring = Vec::new();
    let people = [
        (DEMO_ADMIN_EMAIL, crate::calls::RingMode::Browser, None),
        ("avery@demo.switchboard.test", crate::calls::RingMode::Cell, Some("+17205550161")),
        ("kim@demo.switchboard.test", crate::calls::RingMode::Cell, Some("+17205550162")),
    ];
    for (address, mode, cell) in people {
        let (id,): (i64,) = sqlx::query_as("select id from users where org_id = $1 and email = $2")
            .bind(org.0)
            .bind(address)
            .fetch_one(&mut **tx)
            .await?;
        crate::calls::store::set_ring(tx, org, id, mode, cell).await?;
        ring.push(id);
    }
    crate::calls::store::set_members(tx, org, b.summit, &ring).await
}

struct Techs {
    dan: TechnicianId,
    maria: TechnicianId,
    jin: TechnicianId,
    priya: TechnicianId,
}

async fn seed_technicians(tx: &mut Tx, clock: &dyn Clock, org: OrgId, b: &Brands) -> Result<Techs> {
    let mut ids = Vec::new();
    // Summit's three work in Denver; Priya works for Harbor in Boston.
    let rows = [
        (
            "Dan Okafor",
            "+17205550121",
            "dan",
            49,
            "White Ford Transit #12",
            "Furnace, Garage doors, Electrical",
            b.summit,
        ),
        ("Maria Reyes", "+17205550122", "maria", 47, "Silver Ram ProMaster #7", "AC, Heat pumps, Furnace", b.summit),
        ("Jin Park", "+17205550123", "jin", 38, "Blue Chevy Express #3", "Drains, Locks", b.summit),
        (
            "Priya Raman",
            "+16175550151",
            "priya",
            45,
            "Red Nissan NV200 #21",
            "Sump pumps, Sewer camera, Backflow certified",
            b.harbor,
        ),
    ];
    for (name, number, photo, rating, vehicle, skills, brand) in rows {
        let t = NewTechnician {
            name: name.into(),
            phone: Some(phone(number)?),
            photo_url: Some(format!("/assets/demo/tech-{photo}.svg")),
            rating_x10: Some(rating),
            vehicle: Some(vehicle.into()),
            skills: technicians::parse_skills(skills).map_err(Error::Unexpected)?,
            brands: vec![brand],
        };
        ids.push(technicians::create_in(tx, clock, org, &t).await?);
    }
    match ids.as_slice() {
        [dan, maria, jin, priya] => Ok(Techs { dan: *dan, maria: *maria, jin: *jin, priya: *priya }),
        _ => Err(Error::Unexpected("technician seeding".into())),
    }
}

async fn seed_customers(tx: &mut Tx, clock: &dyn Clock, org: OrgId) -> Result<Vec<(CustomerId, String)>> {
    let rows = [
        (
            "Miguel Alvarez",
            "+17205550131",
            "miguel.alvarez@example.com",
            "1450 Pearl St, Boulder, CO 80302",
            "Dog in the back yard; use the side gate.",
        ),
        ("Tara Patel", "+17205550132", "tara.patel@example.com", "2216 W 32nd Ave, Denver, CO 80211", ""),
        (
            "Sam Greene",
            "+17205550133",
            "sam.greene@example.com",
            "781 S Pearl St, Denver, CO 80209",
            "Rental unit; tenant lets you in.",
        ),
        ("Rachel Cohen", "+17205550134", "rachel.cohen@example.com", "3902 Tennyson St, Denver, CO 80212", ""),
        (
            "Luis Martinez",
            "+17205550135",
            "luis.martinez@example.com",
            "95 Kearney St, Denver, CO 80220",
            "Wants the estimate in writing.",
        ),
        ("Brian Knox", "+17205550136", "brian.knox@example.com", "610 Emerson St, Denver, CO 80218", ""),
        ("Grace Kim", "+17205550137", "grace.kim@example.com", "1200 Logan St, Denver, CO 80203", ""),
        (
            "Helen Okoro",
            "+16175550141",
            "helen.okoro@example.com",
            "44 Tremont St, Boston, MA 02108",
            "Side door; ring twice.",
        ),
        ("Frank Russo", "+16175550142", "frank.russo@example.com", "17 Hanover St, Boston, MA 02113", ""),
    ];
    let mut ids = Vec::new();
    for (name, number, address_email, address, notes) in rows {
        let c = NewCustomer {
            name: name.into(),
            phone: Some(phone(number)?),
            email: Some(email(address_email)?),
            address: Some(address.into()),
            notes: (!notes.is_empty()).then(|| notes.to_string()),
        };
        ids.push((customers::create_in(tx, clock, org, &c).await?, address.to_string()));
    }
    // A landlord with a duplex besides his own place: several service locations, each with
    // its own way in.
    let duplex = [
        ("Duplex, unit A", "2231 S Downing St, Denver, CO 80210", "Lockbox on the back door: 4417."),
        ("Duplex, unit B", "2233 S Downing St, Denver, CO 80210", "Tenant works nights; knock after noon."),
    ];
    let sites: Vec<_> = duplex
        .iter()
        .map(|(label, address, access)| customers::locations::LocationInput {
            label: label.to_string(),
            address: address.to_string(),
            access_notes: access.to_string(),
        })
        .collect();
    let landlord = ids.get(2).map(|(id, _)| *id).ok_or_else(|| Error::Unexpected("customer seeding".into()))?;
    customers::locations::add_all_in(tx, clock, org, landlord, &sites).await?;
    Ok(ids)
}

async fn seed_jobs(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    b: &Brands,
    t: &Techs,
    c: &[(CustomerId, String)],
) -> Result<()> {
    let customer = |i: usize| c.get(i).cloned().ok_or_else(|| Error::Unexpected("customer seeding".into()));
    let zone = |name: &str| TimeZone::get(name).map_err(|e| Error::Unexpected(e.to_string()));
    let (denver, boston) = (zone("America/Denver")?, zone("America/New_York")?);
    // Days relative to today in each brand's own zone.
    let day = |tz: &TimeZone, offset: i64| {
        clock.now().to_zoned(tz.clone()).date().checked_add(offset.days()).map_err(|e| Error::Unexpected(e.to_string()))
    };
    let two_hours = jiff::SignedDuration::from_hours(2);

    // (brand, zone, day offset, hour, minute, customer, service, status, techs), in code order.
    let rows = [
        (b.summit, &denver, -1, 10, 0, 5, "Drain clear", JobStatus::Completed, vec![t.jin]),
        (b.summit, &denver, -1, 15, 0, 6, "Water heater flush", JobStatus::Canceled, vec![]),
        (b.summit, &denver, 1, 9, 0, 4, "Estimate - re-roof", JobStatus::Estimate, vec![]),
        (b.summit, &denver, 0, 16, 0, 3, "Disposal install", JobStatus::Scheduled, vec![t.dan]),
        (b.summit, &denver, 0, 11, 0, 2, "Lock rekey", JobStatus::PendingClose, vec![t.jin]),
        (b.summit, &denver, 0, 13, 30, 0, "Garage spring", JobStatus::OnSite, vec![t.dan]),
        (b.summit, &denver, 0, 14, 15, 1, "AC diagnose", JobStatus::Dispatched, vec![t.maria]),
        (b.harbor, &boston, 0, 10, 0, 7, "Sump pump replace", JobStatus::Scheduled, vec![t.priya]),
        (b.harbor, &boston, 0, 12, 30, 8, "Leak under sink", JobStatus::Dispatched, vec![t.priya]),
        (b.harbor, &boston, 0, 15, 0, 7, "Sewer camera inspection", JobStatus::Estimate, vec![]),
    ];
    for (brand, tz, offset, hour, minute, cust, service, status, techs) in rows {
        let start = at(tz, day(tz, offset)?, hour, minute)?;
        let (customer, address) = customer(cust)?;
        let job = NewJob {
            brand,
            customer,
            service: service.into(),
            status,
            address: Some(address),
            scheduled_start: Some(start),
            scheduled_end: Some(start + two_hours),
            techs,
        };
        let (id, _) = jobs::insert_quietly_in(tx, clock, org, &job).await?;
        // The demo addresses are real places; their pins count as verified.
        if let Some((lat, lon)) = demo_coordinates(&job.address.unwrap_or_default()) {
            sqlx::query(
                "update jobs set latitude_e6 = $3, longitude_e6 = $4, location_verified = 1 where org_id = $1 and id = $2",
            )
            .bind(org.0)
            .bind(id.0)
            .bind((lat * 1e6).round() as i64)
            .bind((lon * 1e6).round() as i64)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Billing for both brands (Denver's and Boston's sales tax, reminders 3, 7 and 14 days after
/// sending), and the invoice of the job waiting to close, drafted from its line items.
async fn seed_billing(tx: &mut Tx, clock: &dyn Clock, org: OrgId, b: &Brands) -> Result<()> {
    let settings = |rate: (&str, i64), footer: &str| crate::billing::Settings {
        tax_rates: vec![crate::billing::TaxRate { name: rate.0.into(), rate_x1000: rate.1 }],
        footer: footer.into(),
        ..crate::billing::Settings::defaults()
    };
    let summit = settings(("Sales tax", 8810), "Payment due on receipt. Thank you for choosing Summit Home Services.");
    crate::billing::save_settings_in(tx, clock, org, b.summit, &summit).await?;
    let harbor = settings(("Sales tax", 6250), "Payment due within 15 days.");
    crate::billing::save_settings_in(tx, clock, org, b.harbor, &harbor).await?;
    let (job,): (i64,) =
        sqlx::query_as("select id from jobs where org_id = $1 and status = 'pending_close' order by id limit 1")
            .bind(org.0)
            .fetch_one(&mut **tx)
            .await?;
    let job = crate::ids::JobId(job);
    let items = [("Rekey front and back door locks", 200, 4500, false), ("Schlage keys, cut", 400, 350, true)];
    for (description, quantity_x100, cents, taxable) in items {
        let item = jobs::LineItem {
            id: 0,
            description: description.into(),
            quantity_x100,
            unit_price: crate::money::Money::usd(cents),
            taxable,
            added_by: "tech:Jin Park".into(),
        };
        jobs::insert_line_item_quietly_in(tx, clock, org, job, &item).await?;
    }
    crate::billing::draft_in(tx, clock, org, "system", job).await?;
    Ok(())
}

/// Where the demo customers' addresses are (the demo's maps stand-in knows them too).
pub const PLACES: &[(&str, f64, f64)] = &[
    ("1450 Pearl St", 40.018_8, -105.277_1),
    ("2216 W 32nd Ave", 39.762_2, -105.015_5),
    ("781 S Pearl St", 39.702_7, -104.980_8),
    ("3902 Tennyson St", 39.771_2, -105.043_6),
    ("95 Kearney St", 39.718_3, -104.917_5),
    ("610 Emerson St", 39.726_2, -104.975_7),
    ("1200 Logan St", 39.735_8, -104.982_3),
    ("44 Tremont St", 42.358_3, -71.060_3),
    ("17 Hanover St", 42.361_7, -71.057_9),
];

/// Map positions of the demo customers' addresses.
fn demo_coordinates(address: &str) -> Option<(f64, f64)> {
    PLACES.iter().find(|(prefix, _, _)| address.starts_with(prefix)).map(|(_, lat, lon)| (*lat, *lon))
}
