//! Invoice types and their pure rules: totals with taxes and a discount, rounded one way;
//! what an invoice's state is from what was sent, viewed, paid and refunded; tax rates and the
//! nudge schedule as people type them.
//!
//! ## How totals are rounded (the same on the page, the PDF, the API and Stripe)
//!
//! 1. Each line is its quantity times its unit price, rounded to the cent half away from zero
//!    ([`Money::times`]); the subtotal is the sum of the lines.
//! 2. The discount (an amount, at most the subtotal) comes off the subtotal. Its share of the
//!    taxable lines is `discount x taxable / subtotal`, rounded half away from zero; the taxable
//!    base is the taxable lines less that share.
//! 3. Each tax rate applies to the taxable base and is rounded half away from zero on its own;
//!    the taxes are listed one by one and their sum is the tax total.
//! 4. Total = subtotal - discount + tax total. Due = total - deposits credited - paid (payments
//!    less refunds), never below zero. Stripe is asked for exactly the amount due.

use serde::{Deserialize, Serialize};

use crate::ids::{BrandId, CustomerId, JobId, OrgId};
use crate::money::{Currency, Money};

/// An invoice line: a copy of a job's line item, or typed by the office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub description: String,
    /// Hundredths: 150 is 1.5.
    pub quantity_x100: i64,
    pub unit_price: Money,
    pub taxable: bool,
}

impl Line {
    pub fn amount(&self) -> Money {
        self.unit_price.times(self.quantity_x100)
    }
}

/// A tax rate: its name and thousandths of a percent (8.875% is 8875).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    pub name: String,
    pub rate_x1000: i64,
}

impl TaxRate {
    /// "8.875%", "6.25%", "7%".
    pub fn percent(&self) -> String {
        let whole = self.rate_x1000 / 1000;
        let frac = self.rate_x1000 % 1000;
        if frac == 0 {
            return format!("{whole}%");
        }
        let digits = format!("{frac:03}");
        format!("{whole}.{}%", digits.trim_end_matches('0'))
    }

    /// A rate as typed: "8.875", "8.875%", "6.25 %". From 0 to 100, at most three decimals.
    pub fn parse_rate(s: &str) -> Result<i64, String> {
        let t = s.trim().trim_end_matches('%').trim();
        let bad = || format!("\"{}\" is not a rate like 8.25 or 8.875", s.trim());
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 3
            || whole.len() > 3
        {
            return Err(bad());
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        let frac: i64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
        let rate = whole * 1000 + frac;
        if rate > 100_000 {
            return Err("a tax rate cannot be more than 100%".into());
        }
        Ok(rate)
    }
}

/// One tax as charged on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxLine {
    pub name: String,
    pub rate_x1000: i64,
    pub amount: Money,
}

impl TaxLine {
    /// "Sales tax (8.25%)".
    pub fn label(&self) -> String {
        let rate = TaxRate { name: self.name.clone(), rate_x1000: self.rate_x1000 };
        format!("{} ({})", self.name, rate.percent())
    }
}

/// An invoice's sums (see the module's rounding rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub subtotal: Money,
    pub discount: Money,
    pub taxable_base: Money,
    pub taxes: Vec<TaxLine>,
    pub tax_total: Money,
    pub total: Money,
}

/// `value x num / den` rounded half away from zero (den > 0).
fn ratio(value: i64, num: i64, den: i64) -> i64 {
    let raw = value as i128 * num as i128;
    let den = den as i128;
    let q = (raw.abs() * 2 + den) / (den * 2);
    (if raw < 0 { -q } else { q }) as i64
}

impl Totals {
    /// The sums of `lines` with `discount` off and `rates` on the taxable part. The discount
    /// is capped at the subtotal (the caller refuses a larger one with a message).
    pub fn of(lines: &[Line], discount: Money, rates: &[TaxRate]) -> Totals {
        let currency = discount.currency;
        let subtotal: i64 = lines.iter().map(|l| l.amount().minor).sum();
        let taxable: i64 = lines.iter().filter(|l| l.taxable).map(|l| l.amount().minor).sum();
        let discount = discount.minor.clamp(0, subtotal.max(0));
        let taxable_base = if subtotal > 0 { taxable - ratio(discount, taxable, subtotal) } else { 0 };
        let taxes: Vec<TaxLine> = rates
            .iter()
            .map(|r| TaxLine {
                name: r.name.clone(),
                rate_x1000: r.rate_x1000,
                amount: Money::new(ratio(taxable_base, r.rate_x1000, 100_000), currency),
            })
            .collect();
        let tax_total: i64 = taxes.iter().map(|t| t.amount.minor).sum();
        Totals {
            subtotal: Money::new(subtotal, currency),
            discount: Money::new(discount, currency),
            taxable_base: Money::new(taxable_base, currency),
            taxes,
            tax_total: Money::new(tax_total, currency),
            total: Money::new(subtotal - discount + tax_total, currency),
        }
    }
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Sent,
    Viewed,
    PartlyPaid,
    Paid,
    Void,
    Refunded,
}

impl Status {
    pub const ALL: [Status; 7] =
        [Status::Draft, Status::Sent, Status::Viewed, Status::PartlyPaid, Status::Paid, Status::Void, Status::Refunded];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Sent => "sent",
            Status::Viewed => "viewed",
            Status::PartlyPaid => "partly_paid",
            Status::Paid => "paid",
            Status::Void => "void",
            Status::Refunded => "refunded",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::Sent => "Sent",
            Status::Viewed => "Viewed",
            Status::PartlyPaid => "Partly paid",
            Status::Paid => "Paid",
            Status::Void => "Void",
            Status::Refunded => "Refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the customer owes on it (sent and not settled; a refund reopens the balance, so
    /// a refunded invoice is owed until it is paid again or voided).
    pub fn is_owed(self) -> bool {
        matches!(self, Status::Sent | Status::Viewed | Status::PartlyPaid | Status::Refunded)
    }

    /// The status of an invoice from what happened to it: void wins; then money (nothing due:
    /// paid, even before it was sent, as when the technician took cash on site; all paid money
    /// returned: refunded; something paid on it: partly paid); then a draft until sent; then
    /// whether the customer opened it.
    pub fn derive(f: &Facts) -> Status {
        if f.voided {
            Status::Void
        } else if f.due == 0 && f.total > 0 && f.net_paid + f.deposit_credit >= f.total {
            Status::Paid
        } else if f.refunded > 0 && f.net_paid <= 0 {
            Status::Refunded
        } else if f.net_paid > 0 || (f.sent && f.deposit_credit > 0 && f.due < f.total) {
            Status::PartlyPaid
        } else if !f.sent {
            Status::Draft
        } else if f.viewed {
            Status::Viewed
        } else {
            Status::Sent
        }
    }
}

/// What decides an invoice's status (see [`Status::derive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    pub sent: bool,
    pub viewed: bool,
    pub voided: bool,
    pub total: i64,
    pub deposit_credit: i64,
    /// Payments less refunds.
    pub net_paid: i64,
    pub refunded: i64,
    pub due: i64,
}

/// What is due: the total less deposits credited and net payments, never below zero.
pub fn due(total: i64, deposit_credit: i64, net_paid: i64) -> i64 {
    (total - deposit_credit - net_paid).max(0)
}

/// A final invoice or a deposit asked for before the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    Invoice,
    Deposit,
}

impl InvoiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceKind::Invoice => "invoice",
            InvoiceKind::Deposit => "deposit",
        }
    }

    pub fn parse(s: &str) -> Option<InvoiceKind> {
        match s {
            "invoice" => Some(InvoiceKind::Invoice),
            "deposit" => Some(InvoiceKind::Deposit),
            _ => None,
        }
    }
}

/// An invoice as stored, with its lines and taxes.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: i64,
    pub org_id: OrgId,
    pub brand_id: BrandId,
    pub job_id: Option<JobId>,
    pub customer_id: CustomerId,
    pub number: String,
    pub kind: InvoiceKind,
    pub status: Status,
    pub currency: Currency,
    pub lines: Vec<Line>,
    pub discount_label: String,
    pub totals: Totals,
    pub deposit_credit: Money,
    /// Payments less refunds.
    pub paid: Money,
    pub due: Money,
    pub note: String,
    pub version: i64,
    pub replaces_id: Option<i64>,
    pub created_at: jiff::Timestamp,
    pub sent_at: Option<jiff::Timestamp>,
    pub viewed_at: Option<jiff::Timestamp>,
    pub paid_at: Option<jiff::Timestamp>,
    pub voided_at: Option<jiff::Timestamp>,
    pub void_reason: Option<String>,
}

/// Days after sending when an unpaid invoice is nudged, as typed: "3, 7, 14". Empty: never.
pub fn parse_nudge_days(s: &str) -> Result<Vec<i64>, String> {
    let mut days = Vec::new();
    for part in s.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        let d: i64 = part.trim().parse().map_err(|_| format!("\"{}\" is not a number of days", part.trim()))?;
        if !(1..=365).contains(&d) {
            return Err("each nudge is 1 to 365 days after sending".into());
        }
        if !days.contains(&d) {
            days.push(d);
        }
    }
    if days.len() > 10 {
        return Err("at most 10 nudges".into());
    }
    days.sort_unstable();
    Ok(days)
}

/// The nudge schedule as shown and stored: "3, 7, 14".
pub fn format_nudge_days(days: &[i64]) -> String {
    days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

/// Which days-old bucket of the aging view an unpaid invoice sent at `sent` falls in at `now`.
pub fn aging_bucket(sent: jiff::Timestamp, now: jiff::Timestamp) -> usize {
    let days = (now.as_second() - sent.as_second()).max(0) / 86_400;
    match days {
        0..=30 => 0,
        31..=60 => 1,
        61..=90 => 2,
        _ => 3,
    }
}

/// The aging view's bucket names.
pub const AGING_BUCKETS: [&str; 4] = ["0-30 days", "31-60 days", "61-90 days", "90+ days"];

#[cfg(test)]
mod tests {
    use super::*;

    fn line(desc: &str, qty: i64, cents: i64, taxable: bool) -> Line {
        Line { description: desc.into(), quantity_x100: qty, unit_price: Money::usd(cents), taxable }
    }

    fn rate(name: &str, x1000: i64) -> TaxRate {
        TaxRate { name: name.into(), rate_x1000: x1000 }
    }

    #[test]
    fn totals_tax_only_the_taxable_lines_and_round_each_tax_once() {
        // $189.00 labor (not taxed) + 2 x $12.49 parts (taxed) at 8.25%.
        let lines = [line("Labor", 100, 18900, false), line("Wax ring", 200, 1249, true)];
        let t = Totals::of(&lines, Money::usd(0), &[rate("Sales tax", 8250)]);
        assert_eq!(t.subtotal, Money::usd(21398));
        assert_eq!(t.taxable_base, Money::usd(2498));
        // 24.98 x 8.25% = 2.06085 -> $2.06
        assert_eq!(t.taxes[0].amount, Money::usd(206));
        assert_eq!(t.total, Money::usd(21604));
        assert_eq!(t.taxes[0].label(), "Sales tax (8.25%)");
    }

    #[test]
    fn two_rates_round_separately_and_a_half_cent_rounds_away_from_zero() {
        // A base of $10.10: 6.25% = 0.63125 -> 0.63; 2.5% = 0.2525 -> 0.25.
        let lines = [line("Part", 100, 1010, true)];
        let t = Totals::of(&lines, Money::usd(0), &[rate("State", 6250), rate("City", 2500)]);
        assert_eq!(t.taxes.iter().map(|x| x.amount.minor).collect::<Vec<_>>(), [63, 25]);
        assert_eq!(t.tax_total, Money::usd(88));
        // Exactly half a cent: $1.00 at 0.5% = 0.5 cents -> 1 cent.
        let t = Totals::of(&[line("Fee", 100, 100, true)], Money::usd(0), &[rate("Tiny", 500)]);
        assert_eq!(t.tax_total, Money::usd(1));
        // 8.875% on $19.99 = 1.77411 -> $1.77.
        let t = Totals::of(&[line("Filter", 100, 1999, true)], Money::usd(0), &[rate("NYC", 8875)]);
        assert_eq!(t.tax_total, Money::usd(177));
    }

    #[test]
    fn a_discount_comes_off_the_taxable_part_in_proportion() {
        // $100 labor (untaxed) + $100 parts (taxed), $50 off: half of it is off the parts.
        let lines = [line("Labor", 100, 10000, false), line("Parts", 100, 10000, true)];
        let t = Totals::of(&lines, Money::usd(5000), &[rate("Tax", 10000)]);
        assert_eq!(t.taxable_base, Money::usd(7500));
        assert_eq!(t.tax_total, Money::usd(750));
        assert_eq!(t.total, Money::usd(20000 - 5000 + 750));
        // A third: $10 off $30 of which $10 taxed -> $3.33 off the taxed part (3.333 rounds down).
        let lines = [line("A", 100, 2000, false), line("B", 100, 1000, true)];
        let t = Totals::of(&lines, Money::usd(1000), &[]);
        assert_eq!(t.taxable_base, Money::usd(667));
        // A discount larger than the subtotal is capped there.
        let t = Totals::of(&[line("A", 100, 1000, true)], Money::usd(5000), &[rate("Tax", 8000)]);
        assert_eq!((t.discount, t.total), (Money::usd(1000), Money::usd(0)));
    }

    #[test]
    fn fractional_quantities_round_per_line() {
        // 1.5 h x $95.33 = 142.995 -> $143.00; 0.33 x $0.05 = 1.65 cents -> 2 cents.
        let lines = [line("Labor", 150, 9533, false), line("Screw", 33, 5, true)];
        let t = Totals::of(&lines, Money::usd(0), &[]);
        assert_eq!(t.subtotal, Money::usd(14300 + 2));
        // No lines: all zero.
        let t = Totals::of(&[], Money::usd(0), &[rate("Tax", 8250)]);
        assert_eq!((t.subtotal.minor, t.tax_total.minor, t.total.minor), (0, 0, 0));
    }

    #[test]
    fn rates_parse_as_typed_and_print_without_trailing_zeros() {
        assert_eq!(TaxRate::parse_rate("8.875"), Ok(8875));
        assert_eq!(TaxRate::parse_rate(" 8.25 % "), Ok(8250));
        assert_eq!(TaxRate::parse_rate("7"), Ok(7000));
        assert_eq!(TaxRate::parse_rate(".5"), Ok(500));
        assert_eq!(TaxRate::parse_rate("0"), Ok(0));
        assert!(TaxRate::parse_rate("8.8755").is_err());
        assert!(TaxRate::parse_rate("-1").is_err());
        assert!(TaxRate::parse_rate("abc").unwrap_err().contains("\"abc\""));
        assert!(TaxRate::parse_rate("").is_err());
        assert!(TaxRate::parse_rate("101").unwrap_err().contains("100%"));
        assert_eq!(rate("x", 8250).percent(), "8.25%");
        assert_eq!(rate("x", 8875).percent(), "8.875%");
        assert_eq!(rate("x", 7000).percent(), "7%");
        assert_eq!(rate("x", 500).percent(), "0.5%");
    }

    #[test]
    fn status_follows_what_happened() {
        let sent = Facts { sent: true, total: 10000, due: 10000, ..Facts::default() };
        assert_eq!(Status::derive(&Facts { sent: false, ..sent }), Status::Draft);
        assert_eq!(Status::derive(&sent), Status::Sent);
        assert_eq!(Status::derive(&Facts { viewed: true, ..sent }), Status::Viewed);
        let part = Facts { net_paid: 4000, due: 6000, viewed: true, ..sent };
        assert_eq!(Status::derive(&part), Status::PartlyPaid);
        let paid = Facts { net_paid: 10000, due: 0, ..sent };
        assert_eq!(Status::derive(&paid), Status::Paid);
        // All returned: refunded, and due again.
        let refunded = Facts { net_paid: 0, refunded: 10000, due: 10000, ..sent };
        assert_eq!(Status::derive(&refunded), Status::Refunded);
        // Part returned: partly paid with a balance.
        let back = Facts { net_paid: 7000, refunded: 3000, due: 3000, ..sent };
        assert_eq!(Status::derive(&back), Status::PartlyPaid);
        // A deposit covering it all.
        let covered = Facts { deposit_credit: 10000, due: 0, ..sent };
        assert_eq!(Status::derive(&covered), Status::Paid);
        assert_eq!(Status::derive(&Facts { voided: true, ..paid }), Status::Void);
        // Cash taken on site before the invoice went out: paid all the same (the job closes).
        assert_eq!(Status::derive(&Facts { sent: false, ..paid }), Status::Paid);
        assert_eq!(Status::derive(&Facts { sent: false, ..part }), Status::PartlyPaid);
        // A deposit credited on a final invoice not sent yet: still a draft to send.
        let drafted = Facts { sent: false, deposit_credit: 2500, due: 7500, ..Facts::default() };
        assert_eq!(Status::derive(&Facts { total: 10000, ..drafted }), Status::Draft);
        assert_eq!(due(10000, 2500, 8000), 0);
        assert_eq!(due(10000, 2500, 5000), 2500);
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert!(Status::PartlyPaid.is_owed() && !Status::Paid.is_owed() && !Status::Draft.is_owed());
        assert!(Status::Refunded.is_owed() && !Status::Void.is_owed());
    }

    #[test]
    fn nudge_days_and_aging_buckets() {
        assert_eq!(parse_nudge_days("3, 7, 14"), Ok(vec![3, 7, 14]));
        assert_eq!(parse_nudge_days("14 3 7 7"), Ok(vec![3, 7, 14]));
        assert_eq!(parse_nudge_days(""), Ok(vec![]));
        assert!(parse_nudge_days("0").is_err());
        assert!(parse_nudge_days("soon").unwrap_err().contains("\"soon\""));
        assert_eq!(format_nudge_days(&[3, 7, 14]), "3, 7, 14");
        let sent: jiff::Timestamp = "2026-10-01T15:00:00Z".parse().unwrap();
        let at = |s: &str| aging_bucket(sent, s.parse().unwrap());
        assert_eq!(at("2026-10-31T14:59:00Z"), 0); // 29 days and 23:59
        assert_eq!(at("2026-11-01T15:00:00Z"), 1); // 31 days
        assert_eq!(at("2026-11-30T15:00:00Z"), 1); // 60 days
        assert_eq!(at("2026-12-01T15:00:00Z"), 2); // 61 days
        assert_eq!(at("2027-01-01T15:00:00Z"), 3); // 92 days
    }
}

impl Invoice {
    /// The totals block, row by row, as every page, the PDF and the API show it: subtotal, the
    /// discount, each tax, the total, then deposits and payments, and what is due. Rows that
    /// would say nothing (no discount, no tax, nothing paid) are left out.
    pub fn summary(&self) -> Vec<(String, Money)> {
        let t = &self.totals;
        let mut rows = vec![("Subtotal".to_string(), t.subtotal)];
        if t.discount.minor > 0 {
            let label =
                if self.discount_label.is_empty() { "Discount".to_string() } else { self.discount_label.clone() };
            rows.push((label, Money::new(-t.discount.minor, t.discount.currency)));
        }
        for tax in &t.taxes {
            rows.push((tax.label(), tax.amount));
        }
        rows.push(("Total".to_string(), t.total));
        if self.deposit_credit.minor > 0 {
            rows.push(("Deposit paid".to_string(), Money::new(-self.deposit_credit.minor, self.currency)));
        }
        if self.paid.minor != 0 {
            rows.push(("Paid".to_string(), Money::new(-self.paid.minor, self.currency)));
        }
        rows.push(("Amount due".to_string(), self.due));
        rows
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A sent invoice of `lines` for tests of what shows it.
    pub fn invoice(lines: Vec<Line>, totals: Totals) -> Invoice {
        let due = totals.total;
        Invoice {
            id: 1,
            org_id: OrgId(1),
            brand_id: BrandId(1),
            job_id: None,
            customer_id: CustomerId(1),
            number: "INV-1001".into(),
            kind: InvoiceKind::Invoice,
            status: Status::Sent,
            currency: Currency::Usd,
            lines,
            discount_label: String::new(),
            totals,
            deposit_credit: Money::usd(0),
            paid: Money::usd(0),
            due,
            note: String::new(),
            version: 1,
            replaces_id: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            sent_at: None,
            viewed_at: None,
            paid_at: None,
            voided_at: None,
            void_reason: None,
        }
    }
}
