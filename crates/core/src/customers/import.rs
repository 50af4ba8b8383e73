//! Customers imported from a CSV file, as ServiceTitan, Workiz, Jobber or a spreadsheet export
//! them: columns are recognised by their headings (name or first/last/company, phones, email,
//! service address parts, notes), every row is checked on its own, and a row whose phone or
//! email is already a customer (or an earlier row of the file) is not imported again, so the
//! same file imported twice adds nothing the second time.
//!
//! [`plan`] reads a file and says what each row would do; [`apply`] does it in one
//! transaction. A customer has one phone (texts from it thread to them): further phones of a
//! row are kept in its notes. The row's service address becomes the customer's first service
//! location.

use std::collections::HashMap;

use crate::clock::Clock;
use crate::db::Db;
use crate::ids::{CustomerId, OrgId};
use crate::parse::{Country, EmailAddress, PhoneE164, display_phone};
use crate::{Error, Result};

use super::{Customer, NewCustomer};

/// Larger files are refused with the reason (split them).
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
pub const MAX_ROWS: usize = 5000;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    FirstName,
    LastName,
    Company,
    Phone,
    OtherPhone,
    Email,
    Street,
    Street2,
    City,
    State,
    Zip,
    Notes,
}

impl Column {
    pub fn label(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::FirstName => "First name",
            Column::LastName => "Last name",
            Column::Company => "Company",
            Column::Phone => "Phone",
            Column::OtherPhone => "Other phone",
            Column::Email => "Email",
            Column::Street => "Street",
            Column::Street2 => "Street, line 2",
            Column::City => "City",
            Column::State => "State",
            Column::Zip => "ZIP",
            Column::Notes => "Notes",
        }
    }

    /// The column a heading names, by the words exports use ("Service ZIP/postal code",
    /// "Mobile phone", "E-mail"). Billing address columns are not the service address.
    pub fn of_heading(heading: &str) -> Option<Column> {
        let h: String = heading.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
        let h = h.strip_prefix("service").filter(|r| !r.is_empty()).unwrap_or(&h);
        let h = h.strip_prefix("customer").filter(|r| !r.is_empty()).unwrap_or(h);
        let h = h.strip_prefix("primary").filter(|r| !r.is_empty()).unwrap_or(h);
        Some(match h {
            "name" | "fullname" | "displayname" | "client" | "clientname" | "customer" | "contactname" => Column::Name,
            "firstname" | "first" | "givenname" => Column::FirstName,
            "lastname" | "last" | "surname" | "familyname" => Column::LastName,
            "company" | "companyname" | "business" | "businessname" | "organization" => Column::Company,
            "phone" | "phonenumber" | "mobile" | "mobilephone" | "cell" | "cellphone" | "mainphone" | "telephone"
            | "tel" | "phone1" => Column::Phone,
            "homephone" | "workphone" | "officephone" | "otherphone" | "alternatephone" | "altphone" | "phone2"
            | "phone3" | "fax" => Column::OtherPhone,
            "email" | "emailaddress" | "mail" | "email1" => Column::Email,
            "address" | "street" | "streetaddress" | "address1" | "addressline1" | "street1" | "streetline1" => {
                Column::Street
            }
            "address2" | "addressline2" | "street2" | "streetline2" | "unit" | "apt" | "suite" => Column::Street2,
            "city" | "town" => Column::City,
            "state" | "province" | "provincestate" | "stateprovince" | "region" | "st" => Column::State,
            "zip" | "zipcode" | "postalcode" | "postcode" | "zippostalcode" | "postalzipcode" => Column::Zip,
            "notes" | "note" | "comments" | "comment" | "description" => Column::Notes,
            _ => return None,
        })
    }
}

/// What a row of the file would do (and did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    New,
    /// Already a customer, matched by `by` ("phone" or "email"): left as it is.
    Existing {
        id: CustomerId,
        name: String,
        by: &'static str,
    },
    /// The same person as an earlier row of the file (by its line number).
    Repeat {
        line: usize,
    },
    /// Refused, with the reason.
    Refused(String),
}

#[derive(Debug, Clone)]
pub struct Row {
    /// The line of the file (the heading is line 1).
    pub line: usize,
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub email: Option<EmailAddress>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub outcome: Outcome,
}

impl Row {
    pub fn phone_display(&self) -> String {
        self.phone.as_ref().map(|p| display_phone(p.as_str())).unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// (heading, what it was read as) for every column; `None`: not imported.
    pub columns: Vec<(String, Option<Column>)>,
    pub rows: Vec<Row>,
}

impl Plan {
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.rows.iter().filter(|r| f(&r.outcome)).count()
    }
    pub fn new_count(&self) -> usize {
        self.count(|o| matches!(o, Outcome::New))
    }
}

/// Phones in one cell: "720-555-0101 / (303) 555-0102", "a; b", "a or b".
fn split_phones(cell: &str) -> Vec<&str> {
    cell.split([';', '/', '|', '\n']).flat_map(|p| p.split(" or ")).map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// A row read by itself (no matching yet).
fn read_row(line: usize, cells: &[(Column, &str)], country: Country) -> Row {
    let all = |c: Column| cells.iter().filter(move |(k, v)| *k == c && !v.trim().is_empty()).map(|(_, v)| v.trim());
    let one = |c: Column| all(c).next().map(str::to_string);
    let mut row =
        Row { line, name: String::new(), phone: None, email: None, address: None, notes: None, outcome: Outcome::New };
    let person = [one(Column::FirstName), one(Column::LastName)].into_iter().flatten().collect::<Vec<_>>().join(" ");
    row.name =
        one(Column::Name).or(Some(person).filter(|p| !p.is_empty())).or(one(Column::Company)).unwrap_or_default();
    if row.name.is_empty() {
        row.outcome = Outcome::Refused("no name (a Name, First name/Last name or Company column)".into());
        return row;
    }
    if row.name.chars().count() > 120 {
        row.outcome = Outcome::Refused("the name is longer than 120 characters".into());
        return row;
    }
    // Phones: the first of the main columns is the customer's; the rest go to the notes.
    let mut phones = Vec::new();
    for cell in all(Column::Phone).chain(all(Column::OtherPhone)) {
        for p in split_phones(cell) {
            match PhoneE164::parse_in(p, country) {
                Ok(n) if !phones.contains(&n) => phones.push(n),
                Ok(_) => {}
                Err(e) => {
                    row.outcome = Outcome::Refused(format!("phone \"{p}\": {e}"));
                    return row;
                }
            }
        }
    }
    let mut phones = phones.into_iter();
    row.phone = phones.next();
    let others: Vec<String> = phones.map(|p| display_phone(p.as_str())).collect();
    if let Some(e) = one(Column::Email) {
        // Several addresses in one cell: the first is the customer's.
        let first = e.split([';', ',', ' ']).find(|s| !s.is_empty()).unwrap_or_default();
        match EmailAddress::parse(first) {
            Ok(a) => row.email = Some(a),
            Err(m) => {
                row.outcome = Outcome::Refused(format!("email \"{first}\": {m}"));
                return row;
            }
        }
    }
    let street = [one(Column::Street), one(Column::Street2)].into_iter().flatten().collect::<Vec<_>>().join(", ");
    let state_zip = [one(Column::State), one(Column::Zip)].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let address = [Some(street), one(Column::City), Some(state_zip)]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    if address.chars().count() > 300 {
        row.outcome = Outcome::Refused("the address is longer than 300 characters".into());
        return row;
    }
    row.address = Some(address).filter(|a| !a.is_empty());
    let mut notes: Vec<String> = all(Column::Notes).map(String::from).collect();
    if !others.is_empty() {
        notes.push(format!("Other phones: {}", others.join(", ")));
    }
    let notes = notes.join("\n");
    if notes.chars().count() > 2000 {
        row.outcome = Outcome::Refused("the notes are longer than 2,000 characters".into());
        return row;
    }
    row.notes = Some(notes).filter(|n| !n.is_empty());
    row
}

/// Reads a CSV file (comma-, semicolon- or tab-separated, with a heading line) row by row.
pub fn read(text: &str, country: Country) -> Result<Plan> {
    if text.len() > MAX_BYTES {
        return Err(Error::invalid("file", "the file is larger than 2 MB: split it and import the parts"));
    }
    // A NUL (a stray byte of a binary export) is dropped: PostgreSQL cannot store it, and
    // both databases take the same input.
    let cleaned = text.replace('\0', "");
    let text = cleaned.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter =
        [b',', b';', b'\t'].into_iter().max_by_key(|d| first_line.bytes().filter(|b| b == d).count()).unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let headings: Vec<String> = reader
        .headers()
        .map_err(|e| Error::invalid("file", format!("the file is not CSV: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let columns: Vec<(String, Option<Column>)> = headings.iter().map(|h| (h.clone(), Column::of_heading(h))).collect();
    let known = |c: Column| columns.iter().any(|(_, k)| *k == Some(c));
    if !known(Column::Name) && !known(Column::FirstName) && !known(Column::LastName) && !known(Column::Company) {
        return Err(Error::invalid(
            "file",
            format!(
                "no column gives the customer's name: the first line should name the columns, such as Name, Phone, \
                 Email, Address (this file's first line is \"{}\")",
                first_line.chars().take(120).collect::<String>()
            ),
        ));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // The line the record starts on, counted from its byte offset (a quoted cell may
        // span lines; the reader's own line count differs with CRLF endings).
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            // With CRLF endings the reader places a record at the "\n" ending the line before.
            .and_then(|p| text.as_bytes().get(..=p.byte() as usize))
            .map(|before| before.iter().filter(|&&b| b == b'\n').count() + 1)
            .unwrap_or(i + 2);
        if rows.len() >= MAX_ROWS {
            return Err(Error::invalid("file", format!("the file has more than {MAX_ROWS} rows: split it")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rows.push(Row {
                    line,
                    name: String::new(),
                    phone: None,
                    email: None,
                    address: None,
                    notes: None,
                    outcome: Outcome::Refused(format!("this line cannot be read: {e}")),
                });
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cells: Vec<(Column, &str)> =
            columns.iter().zip(record.iter()).filter_map(|((_, k), v)| k.map(|k| (k, v))).collect();
        rows.push(read_row(line, &cells, country));
    }
    if rows.is_empty() {
        return Err(Error::invalid("file", "the file has a heading line but no customers under it"));
    }
    Ok(Plan { columns, rows })
}

/// Marks rows that are customers already (`existing`) or repeat an earlier row.
pub fn match_existing(plan: &mut Plan, existing: &[Customer]) {
    let by_phone: HashMap<&str, &Customer> =
        existing.iter().filter_map(|c| c.phone.as_ref().map(|p| (p.as_str(), c))).collect();
    let by_email: HashMap<String, &Customer> =
        existing.iter().filter_map(|c| c.email.as_ref().map(|e| (e.as_str().to_lowercase(), c))).collect();
    let mut seen_phone: HashMap<String, usize> = HashMap::new();
    let mut seen_email: HashMap<String, usize> = HashMap::new();
    for row in &mut plan.rows {
        if row.outcome != Outcome::New {
            continue;
        }
        let phone = row.phone.as_ref().map(|p| p.as_str().to_string());
        let email = row.email.as_ref().map(|e| e.as_str().to_lowercase());
        if let Some(c) = phone.as_deref().and_then(|p| by_phone.get(p)) {
            row.outcome = Outcome::Existing { id: c.id, name: c.name.clone(), by: "phone" };
        } else if let Some(c) = email.as_ref().and_then(|e| by_email.get(e)) {
            row.outcome = Outcome::Existing { id: c.id, name: c.name.clone(), by: "email" };
        } else if let Some(&line) = phone.as_ref().and_then(|p| seen_phone.get(p)) {
            row.outcome = Outcome::Repeat { line };
        } else if let Some(&line) = email.as_ref().and_then(|e| seen_email.get(e)) {
            row.outcome = Outcome::Repeat { line };
        }
        if row.outcome == Outcome::New {
            if let Some(p) = phone {
                seen_phone.insert(p, row.line);
            }
            if let Some(e) = email {
                seen_email.insert(e, row.line);
            }
        }
    }
}

/// What importing `text` would do, row by row.
pub async fn plan(db: &Db, org: OrgId, text: &str) -> Result<Plan> {
    let country = super::home_country(db, org).await?;
    let mut plan = read(text, country)?;
    match_existing(&mut plan, &super::list(db, org).await?);
    Ok(plan)
}

/// Imports the new rows of `text` in one transaction; returns the plan as carried out. A
/// customer added meanwhile with a row's phone is matched, not duplicated.
pub async fn apply(db: &Db, clock: &dyn Clock, org: OrgId, text: &str) -> Result<Plan> {
    let mut plan = plan(db, org, text).await?;
    let mut tx = db.begin().await?;
    for row in plan.rows.iter_mut().filter(|r| r.outcome == Outcome::New) {
        let c = NewCustomer {
            name: row.name.clone(),
            phone: row.phone.clone(),
            email: row.email.clone(),
            address: row.address.clone(),
            notes: row.notes.clone(),
        };
        super::create_or_match_in(&mut tx, clock, org, &c).await?;
    }
    tx.commit().await?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Country {
        Country::us()
    }

    #[test]
    fn headings_of_the_usual_exports_are_recognised() {
        for (h, c) in [
            ("Customer Name", Column::Name),
            ("Display name", Column::Name),
            ("First name", Column::FirstName),
            ("Last Name", Column::LastName),
            ("Company name", Column::Company),
            ("Mobile phone", Column::Phone),
            ("Phone Number", Column::Phone),
            ("Home phone", Column::OtherPhone),
            ("E-mail", Column::Email),
            ("Email Address", Column::Email),
            ("Service street 1", Column::Street),
            ("Service street 2", Column::Street2),
            ("Service city", Column::City),
            ("Service province/state", Column::State),
            ("Service ZIP/postal code", Column::Zip),
            ("Zip Code", Column::Zip),
            ("Notes", Column::Notes),
        ] {
            assert_eq!(Column::of_heading(h), Some(c), "{h}");
        }
        assert_eq!(Column::of_heading("Billing street 1"), None);
        assert_eq!(Column::of_heading("Lead source"), None);
    }

    #[test]
    fn a_jobber_export_reads_as_customers() {
        let csv = "First name,Last name,Company name,Mobile phone,Home phone,E-mail,Service street 1,Service street 2,Service city,Service province/state,Service ZIP/postal code,Billing street 1\n\
                   Ana,Souza,,(720) 555-0161,720-555-0162,ana@example.com,12 Elm St,Apt 2,Denver,CO,80203,PO Box 9\n\
                   ,,Blue Door Cafe,303.555.0170,,,\"400 Main St, Suite 5\",,Boulder,CO,80302,\n";
        let plan = read(csv, us()).unwrap();
        assert_eq!(plan.rows.len(), 2);
        let ana = &plan.rows[0];
        assert_eq!((ana.line, ana.name.as_str()), (2, "Ana Souza"));
        assert_eq!(ana.phone.as_ref().unwrap().as_str(), "+17205550161");
        assert_eq!(ana.email.as_ref().unwrap().as_str(), "ana@example.com");
        assert_eq!(ana.address.as_deref(), Some("12 Elm St, Apt 2, Denver, CO 80203"));
        assert_eq!(ana.notes.as_deref(), Some("Other phones: (720) 555-0162"));
        let cafe = &plan.rows[1];
        assert_eq!(cafe.name, "Blue Door Cafe");
        assert_eq!(cafe.address.as_deref(), Some("400 Main St, Suite 5, Boulder, CO 80302"));
        assert_eq!(plan.columns.iter().find(|(h, _)| h == "Billing street 1").unwrap().1, None);
    }

    #[test]
    fn line_numbers_are_the_files_with_any_line_ending() {
        for csv in [
            "Name,Phone\r\nA,720-555-0161\r\nB,720-555-0162\r\n",
            "Name,Phone\nA,720-555-0161\n\"B\nC\",720-555-0162\nD,\n",
        ] {
            let plan = read(csv, us()).unwrap();
            let lines: Vec<_> = plan.rows.iter().map(|r| r.line).collect();
            assert_eq!(&lines[..2], &[2, 3], "{csv:?}");
        }
        let plan = read("Name,Phone\nA,\n\"B\nC\",\nD,\n", us()).unwrap();
        assert_eq!(plan.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3, 5], "a quoted cell spans lines");
    }

    #[test]
    fn each_bad_row_is_refused_with_its_reason_and_the_rest_read() {
        let csv = "Name;Phone;Email\nGood One;720-555-0101;\n;720-555-0102;\nBad Phone;12;\nBad Mail;;not-an-email\n\"Unclosed;720-555-0103;\n";
        let plan = read(csv, us()).unwrap();
        let got: Vec<_> = plan.rows.iter().map(|r| (r.line, r.outcome.clone())).collect();
        assert_eq!(got[0], (2, Outcome::New));
        assert_eq!(got[1], (3, Outcome::Refused("no name (a Name, First name/Last name or Company column)".into())));
        assert!(matches!(&got[2], (4, Outcome::Refused(m)) if m.starts_with("phone \"12\": ")), "{:?}", got[2]);
        assert!(
            matches!(&got[3], (5, Outcome::Refused(m)) if m.starts_with("email \"not-an-email\": ")),
            "{:?}",
            got[3]
        );
    }

    #[test]
    fn numbers_abroad_and_in_national_format_follow_the_country() {
        let csv = "Name,Phone\nJonas Weber,+49 151 12345678\nLea Braun,0151 23456789\n";
        let plan = read(csv, Country::parse("DE").unwrap()).unwrap();
        assert_eq!(plan.rows[0].phone.as_ref().unwrap().as_str(), "+4915112345678");
        assert_eq!(plan.rows[1].phone.as_ref().unwrap().as_str(), "+4915123456789");
    }

    #[test]
    fn a_file_without_a_name_column_or_without_rows_is_refused_as_a_whole() {
        let Err(Error::Invalid(e)) = read("Phone,Email\n720-555-0101,a@example.com\n", us()) else { panic!() };
        assert!(e[0].message.starts_with("no column gives the customer's name"), "{}", e[0].message);
        let Err(Error::Invalid(e)) = read("Name,Phone\n", us()) else { panic!() };
        assert_eq!(e[0].message, "the file has a heading line but no customers under it");
    }

    #[test]
    fn customers_already_here_and_repeats_in_the_file_are_not_imported_twice() {
        let csv = "Name,Phone,Email\nRachel Cohen,720-555-0134,\nR. Cohen,,rachel.cohen@example.com\nNew Person,720-555-0199,new@example.com\nSame Again,(720) 555-0199,\n";
        let mut plan = read(csv, us()).unwrap();
        let rachel = Customer {
            id: CustomerId(7),
            org_id: OrgId(1),
            name: "Rachel Cohen".into(),
            phone: Some(PhoneE164::parse("+17205550134").unwrap()),
            email: Some(EmailAddress::parse("rachel.cohen@example.com").unwrap()),
            address: None,
            notes: None,
            job_count: 0,
        };
        match_existing(&mut plan, &[rachel]);
        let got: Vec<_> = plan.rows.iter().map(|r| r.outcome.clone()).collect();
        assert_eq!(
            got,
            vec![
                Outcome::Existing { id: CustomerId(7), name: "Rachel Cohen".into(), by: "phone" },
                Outcome::Existing { id: CustomerId(7), name: "Rachel Cohen".into(), by: "email" },
                Outcome::New,
                Outcome::Repeat { line: 4 },
            ]
        );
        assert_eq!(plan.new_count(), 1);
    }
}
