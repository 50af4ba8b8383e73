//! An invoice as a printable PDF ([`crate::pdf`]): the same lines, taxes and totals as its page
//! ([`Invoice::summary`]), in columns.

use super::InvoiceView;
use super::model::Invoice;
use crate::pdf::Document;

const DESC: usize = 40;
const QTY: usize = 6;
const MONEY: usize = 13;

/// `text` cut to `width` characters (an ellipsis marks a cut).
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width - 1).collect();
    s.push('…');
    s
}

/// The invoice's lines as table rows: description, quantity, unit price, amount. A row whose
/// numbers are too wide for the columns puts its description on a line of its own.
pub fn table(inv: &Invoice) -> Vec<String> {
    let mut rows = Vec::new();
    for l in &inv.lines {
        let mut desc = l.description.clone();
        if l.taxable && !inv.totals.taxes.is_empty() {
            desc.push_str(" (T)");
        }
        let qty = crate::jobs::format_quantity(l.quantity_x100);
        let (unit, amount) = (l.unit_price.to_string(), l.amount().to_string());
        let row = format!("{:<DESC$} {:>QTY$} {:>MONEY$} {:>MONEY$}", fit(&desc, DESC), qty, unit, amount);
        if row.chars().count() <= Document::COLUMNS {
            rows.push(row);
        } else {
            rows.push(fit(&desc, Document::COLUMNS));
            let numbers = format!("{qty} x {unit} = {amount}");
            rows.push(format!("{:>width$}", fit(&numbers, Document::COLUMNS), width = Document::COLUMNS));
        }
    }
    rows
}

/// The totals block, right-aligned under the amounts.
pub fn summary(inv: &Invoice) -> Vec<String> {
    inv.summary()
        .into_iter()
        .map(|(label, amount)| {
            let amount = amount.to_string();
            let width = DESC + 1 + QTY + 1 + MONEY + 1 + MONEY;
            let label_width = width.min(Document::COLUMNS).saturating_sub(amount.chars().count() + 1).max(1);
            format!("{:>label_width$} {amount}", fit(&label, label_width))
        })
        .collect()
}

/// The PDF of an invoice with what its page shows beside it.
pub fn pdf(view: &InvoiceView) -> Vec<u8> {
    let inv = &view.invoice;
    let tz = view.brand.zone();
    let kind = match inv.kind {
        super::InvoiceKind::Invoice => "Invoice",
        super::InvoiceKind::Deposit => "Deposit invoice",
    };
    let mut doc = Document::new(&format!("{kind} {} - {}", inv.number, view.brand.name));
    doc.heading(&view.brand.name);
    if let Some(phone) = &view.brand.sms_number {
        doc.text(&crate::parse::display_phone(phone.as_str()));
    }
    doc.gap();
    doc.heading(&format!("{kind} {}", inv.number));
    let dated = inv.sent_at.unwrap_or(inv.created_at);
    doc.field("Date", &dated.to_zoned(tz.clone()).strftime("%B %-d, %Y").to_string());
    doc.field("Status", inv.status.label());
    if let Some(job) = &view.job {
        doc.field("Job", &format!("{} · {}", job.code, job.service));
    }
    doc.field("Bill to", &view.customer.name);
    if let Some(address) = view.job.as_ref().and_then(|j| j.address.clone()).or(view.customer.address.clone()) {
        doc.field("Address", &address);
    }
    doc.gap();
    doc.columns(
        vec![
            format!("{:<DESC$} {:>QTY$} {:>MONEY$} {:>MONEY$}", "Description", "Qty", "Unit price", "Amount"),
            "-".repeat(DESC + QTY + 2 * MONEY + 3),
        ],
        true,
    );
    if inv.lines.is_empty() {
        doc.text("No lines.");
    }
    doc.columns(table(inv), false);
    doc.columns(vec!["-".repeat(DESC + QTY + 2 * MONEY + 3)], false);
    let mut totals = summary(inv);
    let due = totals.pop();
    doc.columns(totals, false);
    if let Some(due) = due {
        doc.columns(vec![due], true);
    }
    if inv.lines.iter().any(|l| l.taxable) && !inv.totals.taxes.is_empty() {
        doc.text("(T) taxable");
    }
    if !inv.note.is_empty() {
        doc.gap();
        doc.field("Note", &inv.note);
    }
    let money: Vec<String> = view
        .money
        .iter()
        .map(|m| {
            let at = crate::clock::from_millis(m.created_at).to_zoned(tz.clone()).strftime("%b %-d, %Y").to_string();
            let amount = crate::money::Money::new(m.amount, inv.currency);
            match (m.kind.as_str(), &m.credit_number) {
                ("refund", Some(cn)) => format!("{at}: refunded {amount} (credit note {cn})"),
                ("refund", None) => format!("{at}: refunded {amount}"),
                _ => format!("{at}: paid {amount} {}", super::method_words(&m.method)).trim_end().to_string(),
            }
        })
        .collect();
    if !money.is_empty() {
        doc.gap();
        doc.field("Payments", "");
        for m in money {
            doc.text(&m);
        }
    }
    if inv.status == super::Status::Void {
        doc.gap();
        doc.field("VOID", inv.void_reason.as_deref().unwrap_or(""));
    }
    if !view.footer.is_empty() {
        doc.gap();
        doc.text(&view.footer);
    }
    doc.to_bytes()
}

/// The PDF of the credit note `number` of an invoice (a refund), or `None` if it has none by
/// that number.
pub fn credit_note_pdf(view: &InvoiceView, number: &str) -> Option<Vec<u8>> {
    let inv = &view.invoice;
    let refund = view.money.iter().find(|m| m.kind == "refund" && m.credit_number.as_deref() == Some(number))?;
    let tz = view.brand.zone();
    let amount = crate::money::Money::new(refund.amount, inv.currency);
    let mut doc = Document::new(&format!("Credit note {number} - {}", view.brand.name));
    doc.heading(&view.brand.name);
    if let Some(phone) = &view.brand.sms_number {
        doc.text(&crate::parse::display_phone(phone.as_str()));
    }
    doc.gap();
    doc.heading(&format!("Credit note {number}"));
    let at = crate::clock::from_millis(refund.created_at).to_zoned(tz).strftime("%B %-d, %Y").to_string();
    doc.field("Date", &at);
    doc.field("For invoice", &inv.number);
    if let Some(job) = &view.job {
        doc.field("Job", &format!("{} · {}", job.code, job.service));
    }
    doc.field("Customer", &view.customer.name);
    doc.gap();
    let how = if refund.method == "card" { "Refunded to the card it was paid with" } else { "Refunded by the office" };
    doc.columns(vec![format!("{how:<61} {:>13}", format!("-{amount}"))], true);
    if !refund.note.is_empty() {
        doc.field("Reason", &refund.note);
    }
    doc.gap();
    doc.field("Invoice total", &inv.totals.total.to_string());
    doc.field("Paid after this credit", &inv.paid.to_string());
    doc.field("Amount due", &inv.due.to_string());
    if !view.footer.is_empty() {
        doc.gap();
        doc.text(&view.footer);
    }
    Some(doc.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::model::{Line, TaxRate, Totals};
    use crate::money::Money;

    #[test]
    fn every_row_fits_the_page_width_even_with_large_amounts() {
        let lines = vec![Line {
            description: "A very long description of work that goes on and on past the column".into(),
            quantity_x100: 1_000_000,
            unit_price: Money::usd(99_999_999),
            taxable: true,
        }];
        let totals = Totals::of(
            &lines,
            Money::usd(0),
            &[TaxRate { name: "State and county sales tax".into(), rate_x1000: 8875 }],
        );
        let inv = crate::billing::model::tests_support::invoice(lines, totals);
        for row in table(&inv).iter().chain(summary(&inv).iter()) {
            assert!(row.chars().count() <= Document::COLUMNS, "{} > {}: {row}", row.chars().count(), Document::COLUMNS);
        }
        assert_eq!(table(&inv)[0], "A very long description of work that goes on and on past the column (T)");
        assert_eq!(table(&inv)[1].trim(), "10000 x $999,999.99 = $9,999,999,900.00");
        // An everyday line keeps its columns, and the amounts line up under each other.
        let lines = vec![Line {
            description: "Anode rod".into(),
            quantity_x100: 200,
            unit_price: Money::usd(1249),
            taxable: false,
        }];
        let totals = Totals::of(&lines, Money::usd(0), &[]);
        let inv = crate::billing::model::tests_support::invoice(lines, totals);
        let row = &table(&inv)[0];
        assert_eq!(row, &format!("{:<40} {:>6} {:>13} {:>13}", "Anode rod", "2", "$12.49", "$24.98"));
        assert!(summary(&inv).iter().all(|r| r.len() == row.len()), "{:?}", summary(&inv));
    }
}
