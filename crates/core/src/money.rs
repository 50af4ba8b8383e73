//! Money: an amount in minor units (cents) with its currency, end to end. Parsed where people
//! type it, stored as an integer and a currency code, formatted one way everywhere (pages,
//! texts, emails, the API), and multiplied by quantities with one documented rounding.

use std::fmt;

/// A currency we bill in. Only US dollars today; each brand will pick one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Currency {
    #[serde(rename = "USD")]
    Usd,
}

impl Currency {
    /// The ISO 4217 code stored and sent to payment providers.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
        }
    }

    pub fn parse(code: &str) -> Result<Currency, String> {
        match code.trim().to_ascii_uppercase().as_str() {
            "USD" => Ok(Currency::Usd),
            other => Err(format!("\"{other}\" is not a currency we bill in (USD)")),
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Currency::Usd => "$",
        }
    }
}

/// An amount of one currency, in its minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Money {
    /// Minor units: cents for US dollars.
    pub minor: i64,
    pub currency: Currency,
}

/// The largest price a line may carry: 1,000,000.00.
pub const MAX_PRICE_MINOR: i64 = 1_000_000 * 100;

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::Usd)
    }

    pub const fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    /// A price as people type it: "125", "125.5", "$1,250.00". Not negative; at most
    /// 1,000,000.00.
    pub fn parse_price(s: &str, currency: Currency) -> Result<Money, String> {
        let cleaned: String = s.trim().trim_start_matches(currency.symbol()).chars().filter(|c| *c != ',').collect();
        let v =
            parse_hundredths(&cleaned).ok_or_else(|| format!("\"{}\" is not an amount like 125 or 89.50", s.trim()))?;
        if v < 0 {
            return Err("the price cannot be negative".into());
        }
        if v > MAX_PRICE_MINOR {
            return Err("the price is too large".into());
        }
        Ok(Money::new(v, currency))
    }

    /// This price times a quantity in hundredths (150 is 1.5), rounded to the minor unit half
    /// away from zero: 0.33 x $0.05 = 1.65 cents is 2 cents. Every total (page, invoice,
    /// payment) is a sum of lines rounded this way, so they agree to the cent.
    pub fn times(self, quantity_x100: i64) -> Money {
        let raw = quantity_x100 as i128 * self.minor as i128;
        let rounded = if raw >= 0 { (raw + 50) / 100 } else { (raw - 50) / 100 };
        Money::new(rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64, self.currency)
    }

    /// The amount as a person types it into a form: "1250.00", "-19.99" (no symbol, no
    /// grouping; [`Money::parse_price`] reads it back).
    pub fn typed(self) -> String {
        let sign = if self.minor < 0 { "-" } else { "" };
        let m = self.minor.unsigned_abs();
        format!("{sign}{}.{:02}", m / 100, m % 100)
    }

    /// The sum of `amounts`, all in `currency`; `None` when one is in another currency.
    pub fn sum(currency: Currency, amounts: impl IntoIterator<Item = Money>) -> Option<Money> {
        amounts.into_iter().try_fold(Money::zero(currency), |total, m| {
            (m.currency == currency).then(|| Money::new(total.minor.saturating_add(m.minor), currency))
        })
    }
}

/// "$1,250.00", "-$19.99".
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let m = self.minor.unsigned_abs();
        let whole = (m / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}{}{grouped}.{:02}", self.currency.symbol(), m % 100)
    }
}

/// "1", "1.5", "-0.25" as hundredths; at most two decimals and twelve whole digits.
pub(crate) fn parse_hundredths(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if whole.len() > 12 {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let v = whole * 100 + frac;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USD: Currency = Currency::Usd;

    #[test]
    fn prices_parse_the_way_people_type_them() {
        assert_eq!(Money::parse_price("$1,250.00", USD), Ok(Money::usd(125_000)));
        assert_eq!(Money::parse_price("89.5", USD), Ok(Money::usd(8_950)));
        assert_eq!(Money::parse_price("0", USD), Ok(Money::usd(0)));
        assert!(Money::parse_price("-5", USD).unwrap_err().contains("negative"));
        assert!(Money::parse_price("99999999999999999999", USD).is_err());
        assert!(Money::parse_price("1000000.01", USD).unwrap_err().contains("too large"));
        assert_eq!(Money::parse_price("abc", USD).unwrap_err(), "\"abc\" is not an amount like 125 or 89.50");
    }

    #[test]
    fn line_totals_round_half_away_from_zero_in_cents() {
        assert_eq!(Money::usd(8_950).times(150), Money::usd(13_425));
        // 0.33 x $0.05 = 1.65 cents -> 2 cents.
        assert_eq!(Money::usd(5).times(33), Money::usd(2));
        assert_eq!(Money::usd(0).times(100), Money::usd(0));
        // A credit line rounds the same way, away from zero.
        assert_eq!(Money::usd(-5).times(33), Money::usd(-2));
        assert_eq!(Money::usd(1).times(49), Money::usd(0));
        assert_eq!(Money::usd(1).times(50), Money::usd(1));
    }

    #[test]
    fn amounts_read_as_dollars_and_cents() {
        assert_eq!(Money::usd(125_000).to_string(), "$1,250.00");
        assert_eq!(Money::usd(5).to_string(), "$0.05");
        assert_eq!(Money::usd(123_456_789).to_string(), "$1,234,567.89");
        assert_eq!(Money::usd(-1_999).to_string(), "-$19.99");
        assert_eq!(Money::usd(125_000).typed(), "1250.00");
        assert_eq!(Money::usd(5).typed(), "0.05");
        assert_eq!(Money::usd(-1_999).typed(), "-19.99");
        assert_eq!(Money::parse_price(&Money::usd(123_456).typed(), USD), Ok(Money::usd(123_456)));
    }

    #[test]
    fn sums_stay_in_one_currency_and_the_wire_form_names_it() {
        assert_eq!(Money::sum(USD, [Money::usd(100), Money::usd(250)]), Some(Money::usd(350)));
        assert_eq!(Money::sum(USD, []), Some(Money::usd(0)));
        assert_eq!(serde_json::to_string(&Money::usd(18_900)).unwrap(), r#"{"minor":18900,"currency":"USD"}"#);
        assert_eq!(Currency::parse("usd"), Ok(USD));
        assert_eq!(Currency::parse("EUR").unwrap_err(), "\"EUR\" is not a currency we bill in (USD)");
        assert_eq!(USD.code(), "USD");
    }
}
