//! Parse, don't validate: value types that can only hold valid data.

use serde::Serialize;

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat, enums::Region};

/// A country, by its ISO 3166-1 code (`US`, `DE`): whose numbering plan reads a phone number
/// written without its country code (`030 1234567` in Germany, `(303) 555-0142` in the US).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country {
    code: [u8; 2],
    region: Region,
}

impl Country {
    /// The United States (and the rest of the +1 plan, for numbers written nationally).
    pub fn us() -> Country {
        Country { code: *b"US", region: Region::US }
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        let code = input.trim().to_ascii_uppercase();
        let bytes: [u8; 2] =
            code.as_bytes().try_into().ok().filter(|b: &[u8; 2]| b.iter().all(u8::is_ascii_uppercase)).ok_or_else(
                || format!("\"{}\" is not a two-letter country code (US, CA, GB, DE, ...)", input.trim()),
            )?;
        let region: Region = code
            .parse()
            .ok()
            .filter(|r| PHONE_NUMBER_UTIL.get_country_code_for_region(*r).is_some())
            .ok_or_else(|| format!("\"{}\" is not a country with a phone numbering plan", input.trim()))?;
        Ok(Country { code: bytes, region })
    }

    pub fn code(&self) -> &str {
        // Two ASCII letters, checked in `parse`.
        std::str::from_utf8(&self.code).unwrap_or("US")
    }

    /// The English name (`Germany`), or the code where none is known.
    pub fn name(&self) -> &str {
        let code = self.code();
        crate::countries::COUNTRIES.iter().find(|(c, _)| *c == code).map(|(_, name)| *name).unwrap_or(code)
    }
}

impl Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A phone number in E.164 form (`+13035550142`), valid by libphonenumber's metadata for every
/// country. Never a rewritten number: a number typed with its country code comes back with
/// exactly the digits typed, or is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Reads what a person typed; a number without a country code is read as US/Canada.
    pub fn parse(input: &str) -> Result<Self, String> {
        Self::parse_in(input, Country::us())
    }

    /// Reads what a person typed; a number without a country code is read by `country`'s plan.
    pub fn parse_in(input: &str, country: Country) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("enter a phone number".into());
        }
        let number = PHONE_NUMBER_UTIL
            .parse(trimmed, Some(country.region))
            .map_err(|_| format!("\"{trimmed}\" is not a phone number"))?;
        if !number.is_valid() {
            return Err(format!("\"{trimmed}\" is not a valid phone number"));
        }
        let e164 = number.format_as(PhoneNumberFormat::E164).to_string();
        if let Some(typed) = international_digits(trimmed)
            && typed != e164[1..]
        {
            return Err(format!("\"{trimmed}\" would be read as {e164}: check the number"));
        }
        Ok(Self(e164))
    }

    /// A number as a provider delivered it (Twilio's `From` and `To`): kept exactly as it
    /// came when it has the E.164 shape, even where our numbering metadata does not know its
    /// range yet (the network just carried a text from it); otherwise read as typed input.
    pub fn from_provider(input: &str) -> Result<Self, String> {
        Self::from_stored(input.trim()).or_else(|_| Self::parse(input))
    }

    /// A number as we stored it (always E.164, written by [`PhoneE164::parse`]): checked for
    /// the E.164 shape (`+`, then 7 to 15 digits, no leading zero) and kept exactly as it is,
    /// never parsed again by national rules that could rewrite it.
    pub fn from_stored(stored: &str) -> Result<Self, String> {
        let digits = stored.strip_prefix('+').unwrap_or("");
        let ok =
            (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        if ok { Ok(Self(stored.to_string())) } else { Err(format!("\"{stored}\" is not an E.164 number")) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The number without its country code (`7205550199` for +17205550199): how paging
    /// companies name a pager over SNPP.
    pub fn national_digits(&self) -> String {
        match PHONE_NUMBER_UTIL.parse(&self.0, None) {
            Ok(n) => n.get_national_significant_number(),
            Err(_) => self.0.trim_start_matches('+').to_string(),
        }
    }

    /// The ISO code of the country whose numbering plan holds the number (`JM` for
    /// +1 876 ..., `US` for +1 303 ...), where the metadata knows it.
    pub fn region_code(&self) -> Option<String> {
        let number = PHONE_NUMBER_UTIL.parse(&self.0, None).ok()?;
        let region = PHONE_NUMBER_UTIL.get_region_for_number(&number)?;
        Some(format!("{region:?}"))
    }

    /// A friendly form for display: `(303) 555-0142` for +1 numbers, the international form
    /// (`+49 151 12345678`) for others.
    pub fn display(&self) -> String {
        display_phone(&self.0)
    }
}

/// The digits of a number typed with `+` and its country code, with a written-out trunk
/// prefix `(0)` left out (`+44 (0)20 7946 0958`); `None` for a number typed without `+`.
fn international_digits(typed: &str) -> Option<String> {
    let rest = typed.strip_prefix('+')?;
    Some(rest.replacen("(0)", "", 1).chars().filter(char::is_ascii_digit).collect())
}

/// Formats a stored E.164 number for people; anything unexpected is shown as stored.
pub fn display_phone(e164: &str) -> String {
    let digits = e164.strip_prefix("+1").filter(|d| d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()));
    if let Some(d) = digits {
        return format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..]);
    }
    match PHONE_NUMBER_UTIL.parse(e164, None) {
        Ok(number) if e164.starts_with('+') && number.format_as(PhoneNumberFormat::E164) == e164 => {
            number.format_as(PhoneNumberFormat::International).to_string()
        }
        _ => e164.to_string(),
    }
}

/// Read as the E.164 text it is (`Option<PhoneE164>::as_deref()` gives `Option<&str>`).
impl std::ops::Deref for PhoneE164 {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed and lower-cased. Deliberately simple: one `@`, a dotted domain,
/// no spaces; the mail server is the final judge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err("enter an email address".into());
        }
        let valid = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if valid { Ok(Self(s)) } else { Err(format!("\"{}\" is not an email address", input.trim())) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Read as the address text it is.
impl std::ops::Deref for EmailAddress {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A time zone this build knows, by its IANA name (e.g. `America/Denver`), with its rules:
/// parsed once where it enters (a form, a stored row), so nothing downstream can fall back to
/// another zone. Shown and serialized as its name.
#[derive(Debug, Clone)]
pub struct TimeZoneName {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("choose a time zone".into());
        }
        match jiff::tz::TimeZone::get(s) {
            Ok(tz) => Ok(Self { name: tz.iana_name().unwrap_or(s).to_string(), tz }),
            Err(_) => Err(format!("\"{s}\" is not a known time zone (use a name like America/Chicago)")),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.name
    }
    /// The zone's rules, for converting instants to local times and back.
    pub fn tz(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }
}

impl PartialEq for TimeZoneName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZoneName {}

impl std::fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Serialize for TimeZoneName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

/// A CSS colour in `#rrggbb` form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct HexColor(String);

impl HexColor {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim().to_lowercase();
        let ok = s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok { Ok(Self(s)) } else { Err(format!("\"{}\" is not a colour like #2563eb", input.trim())) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization slug: 2-40 characters of lowercase letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let ok = (2..=40).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("\"{s}\" is not a slug (2-40 lowercase letters, digits and dashes)"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Required free text: trimmed, not empty, at most `max` characters.
pub fn required_text(input: &str, max: usize) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        Err("this field is required".into())
    } else if s.chars().count() > max {
        Err(format!("at most {max} characters"))
    } else {
        Ok(s.to_string())
    }
}

/// Optional free text: `None` when blank.
pub fn optional_text(input: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match input.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.chars().count() > max => Err(format!("at most {max} characters")),
        Some(s) => Ok(Some(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_numbers_are_kept_exactly_as_stored_and_only_their_shape_is_checked() {
        // Numbers abroad that national parsing rules could rewrite are read back unchanged.
        for stored in
            ["+4915112345678", "+491701234567", "+5511912345678", "+33142764978", "+441134960000", "+13035550142"]
        {
            assert_eq!(PhoneE164::from_stored(stored).unwrap().as_str(), stored);
        }
        for bad in ["", "13035550142", "+", "+0123456789", "+1303555014x", "+1234567890123456", "+12345"] {
            assert_eq!(PhoneE164::from_stored(bad).unwrap_err(), format!("\"{bad}\" is not an E.164 number"), "{bad}");
        }
        // Read as text where text is wanted.
        let p = PhoneE164::from_stored("+13035550142").unwrap();
        assert_eq!(Some(p).as_deref(), Some("+13035550142"));
        assert_eq!(TimeZoneName::parse("America/Denver").unwrap().to_string(), "America/Denver");
    }

    #[test]
    fn phone_numbers_normalise_to_e164() {
        let cases = [
            ("(303) 555-0142", "+13035550142"),
            ("303.555.0142", "+13035550142"),
            ("+1 303 555 0142", "+13035550142"),
            ("1-720-555-0199", "+17205550199"),
            ("+44 20 7946 0958", "+442079460958"),
        ];
        for (input, want) in cases {
            assert_eq!(PhoneE164::parse(input).map(|p| p.0), Ok(want.to_string()), "{input}");
        }
    }

    #[test]
    fn non_numbers_are_refused_with_the_input_named() {
        for input in ["", "call me", "123", "+1 000 000 0000"] {
            let err = PhoneE164::parse(input).unwrap_err();
            assert!(!err.is_empty(), "{input}");
        }
        assert!(PhoneE164::parse("call me").unwrap_err().contains("call me"));
    }

    #[test]
    fn phones_display_in_national_form_at_home_and_international_form_abroad() {
        assert_eq!(display_phone("+13035550142"), "(303) 555-0142");
        assert_eq!(display_phone("+442079460958"), "+44 20 7946 0958");
        assert_eq!(display_phone("+4915112345678"), "+49 1511 2345678");
        assert_eq!(display_phone("12345"), "12345");
    }

    /// Every example number of every region and type in libphonenumber's metadata
    /// (`tests/data/phone_examples.tsv`, written by `scripts/phone-examples.py`), written in
    /// E.164, in international format, and in national format read by its own country.
    #[test]
    fn every_example_number_of_every_country_is_read_exactly() {
        let data = include_str!("../tests/data/phone_examples.tsv");
        let mut checked = 0;
        let mut wrong = Vec::new();
        for line in data.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            let [region, kind, e164, national, international] = f[..] else { panic!("bad fixture line {line}") };
            let country = Country::parse(region).unwrap_or_else(|e| panic!("{e}"));
            for (how, got) in [
                ("e164", PhoneE164::parse(e164)),
                ("international", PhoneE164::parse(international)),
                ("national", PhoneE164::parse_in(national, country)),
            ] {
                checked += 1;
                if got.as_ref().map(|p| p.as_str()) != Ok(e164) {
                    wrong.push(format!("{region} {kind} {how}: {got:?}, want {e164}"));
                }
            }
        }
        assert!(checked > 3000, "the fixture holds every region: {checked}");
        assert!(wrong.is_empty(), "{} of {checked} read wrong:\n{}", wrong.len(), wrong.join("\n"));
    }

    #[test]
    fn numbers_abroad_are_kept_exactly_and_national_input_follows_the_country() {
        for n in ["+4915112345678", "+491701234567", "+5511912345678", "+33142764978", "+441134960000"] {
            assert_eq!(PhoneE164::parse(n).map(|p| p.0), Ok(n.to_string()), "{n}");
        }
        let de = Country::parse("de").unwrap();
        assert_eq!(de.code(), "DE");
        assert_eq!(PhoneE164::parse_in("0151 12345678", de).map(|p| p.0), Ok("+4915112345678".into()));
        assert_eq!(PhoneE164::parse_in("030 1234567", de).map(|p| p.0), Ok("+49301234567".into()));
        let gb = Country::parse("GB").unwrap();
        assert_eq!(PhoneE164::parse_in("020 7946 0958", gb).map(|p| p.0), Ok("+442079460958".into()));
        assert_eq!(PhoneE164::parse("+44 (0)20 7946 0958").map(|p| p.0), Ok("+442079460958".into()));
        // A US number typed nationally in a US brand, and the same digits in a German one.
        assert_eq!(PhoneE164::parse("(303) 555-0142").map(|p| p.0), Ok("+13035550142".into()));
        assert_eq!(PhoneE164::parse_in("(303) 555-0142", de).map(|p| p.0), Ok("+493035550142".into()), "Berlin, 030");
        assert_eq!(Country::parse("XX").unwrap_err(), "\"XX\" is not a country with a phone numbering plan");
        assert_eq!(
            Country::parse("USA").unwrap_err(),
            "\"USA\" is not a two-letter country code (US, CA, GB, DE, ...)"
        );
    }

    #[test]
    fn every_listed_country_has_a_numbering_plan_and_a_name() {
        assert_eq!(crate::countries::COUNTRIES.len(), 245);
        for (code, name) in crate::countries::COUNTRIES {
            let country = Country::parse(code).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((country.code(), country.name()), (*code, *name));
        }
        assert_eq!(Country::parse("de").unwrap().name(), "Germany");
    }

    #[test]
    fn provider_numbers_are_kept_as_delivered() {
        // A range our metadata may not know yet is still the number the network carried.
        assert_eq!(PhoneE164::from_provider("+999123456789").map(|p| p.0), Ok("+999123456789".into()));
        assert_eq!(PhoneE164::from_provider("+4915112345678").map(|p| p.0), Ok("+4915112345678".into()));
        assert!(PhoneE164::from_provider("12345").is_err(), "a short code is not a person's number");
    }

    #[test]
    fn emails() {
        assert_eq!(EmailAddress::parse("  Dan@Example.COM ").unwrap().as_str(), "dan@example.com");
        for bad in ["", "dan", "dan@", "@x.com", "dan@localhost", "a b@x.com", "a@b@c.com", "a@x..com"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_must_exist() {
        assert_eq!(TimeZoneName::parse("America/Denver").unwrap().as_str(), "America/Denver");
        assert!(TimeZoneName::parse("Mars/Olympus").unwrap_err().contains("Mars/Olympus"));
        assert!(TimeZoneName::parse("").is_err());
    }

    #[test]
    fn colours_and_slugs() {
        assert_eq!(HexColor::parse("#2563EB").unwrap().as_str(), "#2563eb");
        for bad in ["2563eb", "#25", "#zzzzzz", "red"] {
            assert!(HexColor::parse(bad).is_err(), "{bad}");
        }
        assert!(Slug::parse("demo").is_ok());
        for bad in ["D", "-x", "x-", "has space", "UPPER"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_fields() {
        assert_eq!(required_text("  hi ", 5), Ok("hi".into()));
        assert!(required_text("   ", 5).is_err());
        assert!(required_text("toolong", 5).is_err());
        assert_eq!(optional_text(Some("  "), 5), Ok(None));
        assert_eq!(optional_text(None, 5), Ok(None));
    }
}

#[cfg(test)]
mod region_tests {
    use super::PhoneE164;

    #[test]
    fn a_number_knows_its_country_even_inside_a_shared_calling_code() {
        let region = |n: &str| PhoneE164::parse(n).unwrap().region_code();
        assert_eq!(region("+13035550142").as_deref(), Some("US"));
        assert_eq!(region("+18765550142").as_deref(), Some("JM"));
        assert_eq!(region("+14165550142").as_deref(), Some("CA"));
        assert_eq!(region("+442079460958").as_deref(), Some("GB"));
    }
}
