//! The words that make a lead urgent for a brand ("no heat", "flooding", "gas smell"): a lead
//! whose customer wrote one is flagged, naming the word, and sorted first in the inbox.
//!
//! A phrase matches whole words, in any case and with any spacing or punctuation between its
//! words: "NO HEAT!", "no  heat" and "no-heat" match "no heat"; "heater" does not match "heat".

use serde::Serialize;

/// What a brand starts with: the calls a home-service office treats as emergencies.
pub const DEFAULT_URGENT_WORDS: &[&str] = &[
    "no heat",
    "no hot water",
    "no ac",
    "no air",
    "no power",
    "flooding",
    "flooded",
    "burst pipe",
    "pipe burst",
    "gas smell",
    "smell gas",
    "smells like gas",
    "gas leak",
    "carbon monoxide",
    "sewage",
    "sparking",
    "smoke",
    "locked out",
    "emergency",
];

/// At most this many phrases, each at most [`MAX_PHRASE`] characters.
pub const MAX_PHRASES: usize = 100;
pub const MAX_PHRASE: usize = 60;

/// A brand's urgent phrases, each kept as its lower-case words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "Vec<String>")]
pub struct UrgentWords(Vec<Vec<String>>);

impl From<UrgentWords> for Vec<String> {
    fn from(w: UrgentWords) -> Self {
        w.phrases()
    }
}

/// Words of `s`: runs of letters and digits, lower-cased ("Won't" is "won" and "t").
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

impl Default for UrgentWords {
    fn default() -> Self {
        UrgentWords(DEFAULT_URGENT_WORDS.iter().map(|p| words(p)).collect())
    }
}

impl UrgentWords {
    pub fn none() -> Self {
        UrgentWords(Vec::new())
    }

    /// Phrases one per line or separated by commas; an empty text is no phrases at all.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut out: Vec<Vec<String>> = Vec::new();
        for phrase in raw.split([',', '\n', ';']).map(str::trim).filter(|p| !p.is_empty()) {
            if phrase.chars().count() > MAX_PHRASE {
                return Err(format!("\"{phrase}\" is longer than {MAX_PHRASE} characters"));
            }
            let w = words(phrase);
            if w.is_empty() {
                return Err(format!("\"{phrase}\" has no letters or digits to look for"));
            }
            if !out.contains(&w) {
                out.push(w);
            }
        }
        if out.len() > MAX_PHRASES {
            return Err(format!("use at most {MAX_PHRASES} words or phrases (this has {})", out.len()));
        }
        Ok(UrgentWords(out))
    }

    /// The phrases as they are shown and stored: lower case, one space between words.
    pub fn phrases(&self) -> Vec<String> {
        self.0.iter().map(|w| w.join(" ")).collect()
    }

    /// One phrase per line, as the brand form shows them and the database keeps them.
    pub fn to_text(&self) -> String {
        self.phrases().join("\n")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first phrase (in the brand's order) that `text` contains as whole words.
    pub fn first_in(&self, text: &str) -> Option<String> {
        let have = words(text);
        self.0.iter().find(|phrase| have.windows(phrase.len()).any(|w| w == phrase.as_slice())).map(|p| p.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_whole_words_in_any_case_and_spacing() {
        let w = UrgentWords::default();
        assert_eq!(w.first_in("Our furnace quit and there's NO HEAT!").as_deref(), Some("no heat"));
        assert_eq!(w.first_in("no  heat since last night").as_deref(), Some("no heat"));
        assert_eq!(w.first_in("no-heat again").as_deref(), Some("no heat"));
        assert_eq!(w.first_in("basement is Flooding, help").as_deref(), Some("flooding"));
        assert_eq!(w.first_in("I think I smell gas in the kitchen").as_deref(), Some("smell gas"));
        // Parts of words are not words.
        assert_eq!(w.first_in("the water heater needs a flush"), None);
        assert_eq!(w.first_in("smokey the bear"), None);
        assert_eq!(w.first_in("Can someone look at our AC this week?"), None);
        assert_eq!(w.first_in(""), None);
    }

    #[test]
    fn the_brands_order_decides_which_phrase_is_named() {
        let w = UrgentWords::parse("leak\nno heat").unwrap();
        assert_eq!(w.first_in("no heat and a leak").as_deref(), Some("leak"));
    }

    #[test]
    fn parsing_takes_lines_or_commas_and_refuses_what_cannot_match() {
        let w = UrgentWords::parse("  No Heat , flooding\n\nGas smell;no heat").unwrap();
        assert_eq!(w.phrases(), vec!["no heat", "flooding", "gas smell"]);
        assert_eq!(w.to_text(), "no heat\nflooding\ngas smell");
        assert_eq!(UrgentWords::parse(&w.to_text()).unwrap(), w);
        assert!(UrgentWords::parse("").unwrap().is_empty());
        assert_eq!(UrgentWords::parse("!!!").unwrap_err(), "\"!!!\" has no letters or digits to look for");
        let long = "a".repeat(61);
        assert_eq!(UrgentWords::parse(&long).unwrap_err(), format!("\"{long}\" is longer than 60 characters"));
        let many: Vec<String> = (0..101).map(|i| format!("word{i}")).collect();
        assert_eq!(UrgentWords::parse(&many.join(",")).unwrap_err(), "use at most 100 words or phrases (this has 101)");
    }

    #[test]
    fn words_in_other_scripts_and_accents_match_too() {
        let w = UrgentWords::parse("sin calefacción, überschwemmung").unwrap();
        assert_eq!(w.first_in("Hola, estamos SIN CALEFACCIÓN desde ayer").as_deref(), Some("sin calefacción"));
        assert_eq!(w.first_in("Keller: Überschwemmung!").as_deref(), Some("überschwemmung"));
    }
}
