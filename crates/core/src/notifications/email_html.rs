//! The HTML version of a notification email: the brand's colour, the rendered wording as
//! paragraphs (links made clickable), and for "on the way" a card with the technician's photo,
//! first name, rating (only at 4 stars or more) and vehicle, with a button to the tracking
//! page. Email clients ignore stylesheets, so styles are inline; the text version says the
//! same and stays the record.

use crate::tenancy::Brand;

/// Who is coming, as the email shows them.
#[derive(Debug, Clone, Default)]
pub struct TechCard {
    pub first_name: String,
    /// An absolute URL.
    pub photo_url: Option<String>,
    /// "4.7", present only at 4 stars or more.
    pub rating: Option<String>,
    pub vehicle: Option<String>,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of text, escaped, with `http(s)://` words turned into links.
fn line(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let trimmed = word.trim_end_matches(['.', ',', ')', '!', '?']);
            if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
                let rest = &word[trimmed.len()..];
                format!("<a href=\"{0}\" style=\"color:#2563eb\">{0}</a>{1}", escape(trimmed), escape(rest))
            } else {
                escape(word)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Only `#rrggbb` colours reach the page (the brand form checks, this is belt and braces).
fn colour(c: &str) -> &str {
    if c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit()) { c } else { "#2563eb" }
}

pub fn render(brand: &Brand, body: &str, card: Option<&TechCard>, tracking_url: Option<&str>) -> String {
    let paragraphs: String = body
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(line).collect();
            format!("<p style=\"margin:0 0 14px;font-size:16px;line-height:1.5\">{}</p>", lines.join("<br>"))
        })
        .collect();
    let card_html = card.map(|c| {
        let photo = c
            .photo_url
            .as_deref()
            .map(|u| {
                format!(
                    "<td style=\"width:72px;padding-right:14px\"><img src=\"{}\" width=\"64\" height=\"64\" alt=\"{}\" \
                     style=\"border-radius:50%;display:block;object-fit:cover\"></td>",
                    escape(u),
                    escape(&c.first_name)
                )
            })
            .unwrap_or_default();
        let rating = c
            .rating
            .as_deref()
            .map(|r| format!(" <span style=\"color:#b45309;font-weight:600\">★ {}</span>", escape(r)))
            .unwrap_or_default();
        let vehicle = c
            .vehicle
            .as_deref()
            .map(|v| format!("<div style=\"color:#64748b;font-size:14px\">{}</div>", escape(v)))
            .unwrap_or_default();
        format!(
            "<table role=\"presentation\" style=\"margin:4px 0 18px;border-collapse:collapse\"><tr>{photo}<td>\
             <div style=\"font-size:18px;font-weight:700\">{}{rating}</div>{vehicle}</td></tr></table>",
            escape(&c.first_name)
        )
    });
    let button = tracking_url
        .map(|u| {
            let who = card.map(|c| escape(&c.first_name)).unwrap_or_else(|| "your technician".into());
            format!(
                "<p style=\"margin:8px 0 18px\"><a href=\"{}\" style=\"display:inline-block;background:{};color:#fff;\
                 text-decoration:none;font-weight:600;padding:12px 20px;border-radius:10px\">Follow {who} on the map</a></p>",
                escape(u),
                colour(&brand.color)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html><body style=\"margin:0;background:#f1f5f9;font-family:-apple-system,Segoe UI,Roboto,\
         Helvetica,Arial,sans-serif;color:#0f172a\"><table role=\"presentation\" width=\"100%\" \
         style=\"border-collapse:collapse\"><tr><td align=\"center\" style=\"padding:24px 12px\">\
         <table role=\"presentation\" width=\"100%\" style=\"max-width:560px;background:#fff;border-radius:14px;\
         border-collapse:collapse;overflow:hidden\"><tr><td style=\"background:{};color:#fff;padding:16px 24px;\
         font-weight:700;font-size:17px\">{}</td></tr><tr><td style=\"padding:24px\">{}{paragraphs}{button}</td></tr>\
         </table></td></tr></table></body></html>",
        colour(&brand.color),
        escape(&brand.name),
        card_html.unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{BrandId, OrgId};

    fn brand() -> Brand {
        Brand {
            id: BrandId(1),
            org_id: OrgId(1),
            name: "Summit <Home> Services".into(),
            time_zone: crate::parse::TimeZoneName::parse("America/Denver").unwrap(),
            country: crate::parse::Country::us(),
            sms_number: None,
            inbound_email: None,
            color: "#0f766e".into(),
            logo_url: None,
            job_prefix: "J".into(),
            next_job_number: 1,
            sms_help_reply: None,
            urgent_words: crate::tenancy::UrgentWords::default(),
            working_hours: crate::tenancy::WorkingHours::default(),
        }
    }

    #[test]
    fn the_card_shows_the_photo_name_rating_and_vehicle_and_the_button_links_the_page() {
        let card = TechCard {
            first_name: "Maria".into(),
            photo_url: Some("https://sb.example.com/assets/demo/tech-maria.svg".into()),
            rating: Some("4.7".into()),
            vehicle: Some("Silver Ram ProMaster #7".into()),
        };
        let url = "https://sb.example.com/t/abc";
        let html =
            render(&brand(), "Maria is on the way. Follow along: https://sb.example.com/t/abc", Some(&card), Some(url));
        assert!(html.contains("<img src=\"https://sb.example.com/assets/demo/tech-maria.svg\""));
        assert!(html.contains("★ 4.7") && html.contains("Silver Ram ProMaster #7"));
        assert!(html.contains(
            "<a href=\"https://sb.example.com/t/abc\" style=\"color:#2563eb\">https://sb.example.com/t/abc</a>"
        ));
        assert!(html.contains("Follow Maria on the map") && html.contains("background:#0f766e"));
        assert!(html.contains("Summit &lt;Home&gt; Services"), "escaped");
    }

    #[test]
    fn text_is_escaped_and_a_plain_message_has_no_card_or_button() {
        let html = render(&brand(), "Hi <b>Tara</b>,\n\nsee you at 10.", None, None);
        assert!(html.contains("Hi &lt;b&gt;Tara&lt;/b&gt;,</p>"));
        assert!(html.contains("<p style=\"margin:0 0 14px;font-size:16px;line-height:1.5\">see you at 10.</p>"));
        assert!(!html.contains("<img") && !html.contains("on the map"));
        let mut b = brand();
        b.color = "red;background:url(x)".into();
        assert!(render(&b, "x", None, None).contains("background:#2563eb"), "only hex colours");
    }
}
