//! How many SMS segments a text costs: GSM 03.38 (7-bit) texts fit 160 characters, or 153
//! per part when split; anything outside that alphabet goes as UCS-2, 70 UTF-16 units or 67
//! per part. Characters of the GSM extension table (`€ [ ] { } ^ ~ \ |`) take two places.

const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// The encoding a carrier will use and the length it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLength {
    /// True for GSM-7; false means UCS-2.
    pub gsm7: bool,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub segments: usize,
}

pub fn measure(body: &str) -> SmsLength {
    let mut septets: usize = 0;
    let mut gsm7 = true;
    for c in body.chars() {
        if GSM_BASIC.contains(c) {
            septets += 1;
        } else if GSM_EXTENSION.contains(c) {
            septets += 2;
        } else {
            gsm7 = false;
            break;
        }
    }
    if gsm7 {
        let segments = if septets <= 160 { 1 } else { septets.div_ceil(153) };
        SmsLength { gsm7, units: septets, segments }
    } else {
        let units = body.encode_utf16().count();
        let segments = if units <= 70 { 1 } else { units.div_ceil(67) };
        SmsLength { gsm7, units, segments }
    }
}

/// Segments the text will be billed as.
pub fn segments(body: &str) -> usize {
    measure(body).segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm_texts_split_at_153_after_160() {
        assert_eq!(measure("hello"), SmsLength { gsm7: true, units: 5, segments: 1 });
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        // é, ü, £ are in the GSM alphabet: still 7-bit.
        assert!(measure("Café £5, über").gsm7);
    }

    #[test]
    fn extension_characters_count_twice() {
        assert_eq!(measure("€").units, 2);
        assert_eq!(segments(&format!("{}{}", "a".repeat(159), "€")), 2);
        assert_eq!(measure("[x]").units, 5);
    }

    #[test]
    fn anything_else_is_ucs2_counted_in_utf16_units() {
        let m = measure("Your tech is on the way 🚐");
        assert!(!m.gsm7);
        assert_eq!(m.units, 26, "the emoji is two UTF-16 units");
        assert_eq!(segments(&"ç".repeat(70)), 1, "ç (lower case) is not GSM: UCS-2, 70 fit");
        assert_eq!(segments(&"ç".repeat(71)), 2);
        assert_eq!(segments(&"ç".repeat(134)), 2);
        assert_eq!(segments(&"ç".repeat(135)), 3);
        assert_eq!(segments("`"), 1);
        assert!(!measure("`").gsm7, "the backtick is not in the GSM alphabet");
    }
}
