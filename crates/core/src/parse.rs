//! Parse, don't validate: value types that can only hold valid data.

use serde::Serialize;

/// A phone number in E.164 form (`+13035550142`). National numbers are read as US/Canada.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneE164(String);

impl PhoneE164 {
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("enter a phone number".into());
        }
        let parsed = phonenumber::parse(Some(phonenumber::country::Id::US), trimmed)
            .map_err(|_| format!("\"{trimmed}\" is not a phone number"))?;
        if !parsed.is_valid() {
            return Err(format!("\"{trimmed}\" is not a valid phone number"));
        }
        Ok(Self(parsed.format().mode(phonenumber::Mode::E164).to_string()))
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
    /// A friendly national form for display, e.g. `(303) 555-0142` for US numbers.
    pub fn display(&self) -> String {
        display_phone(&self.0)
    }
}

/// Formats a stored E.164 number for people; anything unexpected is shown as stored.
pub fn display_phone(e164: &str) -> String {
    let digits = e164.strip_prefix("+1").filter(|d| d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()));
    match digits {
        Some(d) => format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..]),
        None => e164.to_string(),
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
    fn phones_display_in_national_form() {
        assert_eq!(display_phone("+13035550142"), "(303) 555-0142");
        assert_eq!(display_phone("+442079460958"), "+442079460958");
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
