//! A small PDF writer (PDF 1.4) for documents of text: the fax of a desk message now, invoices
//! later. US Letter pages; the standard Courier and Courier-Bold fonts, which every PDF
//! reader and fax gateway has, monospaced so lines wrap exactly; WinAnsi encoding (Latin-1
//! letters and the usual typographic marks; anything else prints as `?`); uncompressed content
//! streams; a cross-reference table with exact offsets. Each page has a footer: `Page 1 of 2`.
//!
//! [`lines_of`] reads the text back from a PDF written here (for the fax stand-in and tests).

/// Points per inch; US Letter is 8.5 x 11 in.
const WIDTH: f32 = 612.0;
const HEIGHT: f32 = 792.0;
const MARGIN: f32 = 54.0;
const BODY_SIZE: f32 = 11.0;
const BODY_LEADING: f32 = 14.0;
const HEADING_SIZE: f32 = 15.0;
const HEADING_LEADING: f32 = 20.0;
/// Courier's glyphs are all 600/1000 of the size wide.
const CHAR_EM: f32 = 0.6;

#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading(String),
    Text(String),
    Field(String, String),
    /// Lines kept exactly as given (columns of a table), cut at the page's width; bold or not.
    Columns(Vec<String>, bool),
    Gap,
}

/// A document being built, block by block.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    title: String,
    blocks: Vec<Block>,
}

/// One line placed on a page.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    /// Font resource (`F1` regular, `F2` bold), size, leading; runs of (bold, text).
    size: f32,
    leading: f32,
    runs: Vec<(bool, String)>,
}

impl Document {
    /// A document; `title` goes in its properties (what a viewer shows as its name).
    pub fn new(title: &str) -> Document {
        Document { title: title.to_string(), blocks: Vec::new() }
    }

    /// A heading in large bold type.
    pub fn heading(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Heading(text.to_string()));
        self
    }

    /// Running text; its own line breaks are kept.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Text(text.to_string()));
        self
    }

    /// `Label: value`, the label in bold; a long value continues indented.
    pub fn field(&mut self, label: &str, value: &str) -> &mut Self {
        self.blocks.push(Block::Field(label.to_string(), value.to_string()));
        self
    }

    /// Lines laid out in columns by the caller (spaces kept), each cut at [`Document::COLUMNS`]
    /// characters; bold for a table's head.
    pub fn columns(&mut self, lines: Vec<String>, bold: bool) -> &mut Self {
        self.blocks.push(Block::Columns(lines, bold));
        self
    }

    /// How many characters of body text fit on a line.
    pub const COLUMNS: usize = ((WIDTH - 2.0 * MARGIN) / (BODY_SIZE * CHAR_EM)) as usize;

    /// A blank line.
    pub fn gap(&mut self) -> &mut Self {
        self.blocks.push(Block::Gap);
        self
    }

    fn lines(&self) -> Vec<Line> {
        let columns = |size: f32| ((WIDTH - 2.0 * MARGIN) / (size * CHAR_EM)).floor() as usize;
        let body = columns(BODY_SIZE);
        let mut out = Vec::new();
        let plain = |runs: Vec<(bool, String)>| Line { size: BODY_SIZE, leading: BODY_LEADING, runs };
        for block in &self.blocks {
            match block {
                Block::Heading(t) => {
                    for l in wrap(t, columns(HEADING_SIZE), 0) {
                        out.push(Line { size: HEADING_SIZE, leading: HEADING_LEADING, runs: vec![(true, l)] });
                    }
                }
                Block::Text(t) => {
                    for para in t.lines() {
                        let wrapped = wrap(para, body, 0);
                        if wrapped.is_empty() {
                            out.push(plain(Vec::new()));
                        }
                        out.extend(wrapped.into_iter().map(|l| plain(vec![(false, l)])));
                    }
                }
                Block::Field(label, value) => {
                    let head = format!("{label}: ");
                    let flat = value.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
                    let wrapped = wrap(&format!("{head}{flat}"), body, 4);
                    for (i, l) in wrapped.into_iter().enumerate() {
                        if i == 0 && l.starts_with(&head) {
                            let rest = l[head.len()..].to_string();
                            out.push(plain(vec![(true, head.clone()), (false, rest)]));
                        } else {
                            out.push(plain(vec![(false, l)]));
                        }
                    }
                }
                Block::Columns(lines, bold) => {
                    for l in lines {
                        out.push(plain(vec![(*bold, l.chars().take(body).collect())]));
                    }
                }
                Block::Gap => out.push(plain(Vec::new())),
            }
        }
        out
    }

    /// The lines of each page.
    fn pages(&self) -> Vec<Vec<Line>> {
        let room = HEIGHT - 2.0 * MARGIN - BODY_LEADING;
        let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
        let mut used = 0.0;
        for line in self.lines() {
            if used + line.leading > room {
                pages.push(Vec::new());
                used = 0.0;
                // A page does not start with a blank line.
                if line.runs.is_empty() {
                    continue;
                }
            }
            used += line.leading;
            if let Some(page) = pages.last_mut() {
                page.push(line);
            }
        }
        pages
    }

    /// How many pages the document takes.
    pub fn page_count(&self) -> usize {
        self.pages().len()
    }

    /// The PDF file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let pages = self.pages();
        let count = pages.len();
        // Objects: 1 catalog, 2 page tree, 3 and 4 fonts, 5 info, then a page and its
        // contents for each page.
        let mut objects: Vec<Vec<u8>> = Vec::new();
        let kids: Vec<String> = (0..count).map(|i| format!("{} 0 R", 6 + 2 * i)).collect();
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {count} >>", kids.join(" ")).into_bytes());
        for base in ["Courier", "Courier-Bold"] {
            objects.push(
                format!("<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>").into_bytes(),
            );
        }
        let mut info = b"<< /Title (".to_vec();
        info.extend(literal(&self.title));
        info.extend_from_slice(b") /Producer (Switchboard) >>");
        objects.push(info);
        for (i, lines) in pages.iter().enumerate() {
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] \
                     /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                    7 + 2 * i
                )
                .into_bytes(),
            );
            let content = content(lines, i + 1, count);
            let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            stream.extend(content);
            stream.extend_from_slice(b"\nendstream");
            objects.push(stream);
        }
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
            out.extend(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
        for o in offsets {
            out.extend(format!("{o:010} 00000 n \n").into_bytes());
        }
        out.extend(
            format!("trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
                .into_bytes(),
        );
        out
    }
}

/// One page's content stream: its lines from the top margin down, and the footer.
fn content(lines: &[Line], page: usize, pages: usize) -> Vec<u8> {
    let mut s = Vec::new();
    let mut y = HEIGHT - MARGIN;
    for line in lines {
        y -= line.leading;
        if line.runs.is_empty() {
            continue;
        }
        s.extend(format!("BT {MARGIN} {y} Td").into_bytes());
        for (bold, text) in &line.runs {
            s.extend(format!(" /F{} {} Tf (", if *bold { 2 } else { 1 }, line.size).into_bytes());
            s.extend(literal(text));
            s.extend_from_slice(b") Tj");
        }
        s.extend_from_slice(b" ET\n");
    }
    let footer = format!("Page {page} of {pages}");
    let x = (WIDTH - footer.len() as f32 * 9.0 * CHAR_EM) / 2.0;
    s.extend(format!("BT {x} {} Td /F1 9 Tf (", MARGIN / 2.0).into_bytes());
    s.extend(literal(&footer));
    s.extend_from_slice(b") Tj ET");
    s
}

/// Breaks `text` into lines of at most `columns` characters at spaces (a word longer than a
/// line is cut); lines after the first start with `indent` spaces.
fn wrap(text: &str, columns: usize, indent: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let lead = if lines.is_empty() { 0 } else { indent };
            let room = columns.saturating_sub(if used == 0 { lead } else { used + 1 });
            if word.len() <= room {
                if used == 0 {
                    line.push_str(&" ".repeat(lead));
                } else {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > lead {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a whole line.
            line = " ".repeat(lead);
            let take = columns - lead;
            line.extend(word.drain(..take.min(word.len())));
            lines.push(std::mem::take(&mut line));
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.trim().is_empty() {
        lines.push(line);
    }
    lines
}

/// A PDF string literal's bytes (without the parentheses) in WinAnsi encoding.
fn literal(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let byte: u8 = match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                c as u8
            }
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            _ => b'?',
        };
        if byte >= 0x80 {
            out.extend(format!("\\{byte:03o}").into_bytes());
        } else {
            out.push(byte);
        }
    }
    out
}

/// The text of each line of a PDF written by [`Document::to_bytes`], page after page (runs
/// on one line joined, footers included); `Err` for a file whose cross-reference table does
/// not point at its objects.
pub fn lines_of(pdf: &[u8]) -> Result<Vec<String>, String> {
    if !pdf.starts_with(b"%PDF-1.") {
        return Err("not a PDF".into());
    }
    let ascii = |b: &[u8]| b.iter().map(|&c| if c.is_ascii() { c as char } else { '?' }).collect::<String>();
    let start = pdf.windows(10).rposition(|w| w == b"startxref\n").ok_or("no startxref")? + "startxref\n".len();
    let tail = ascii(&pdf[start..]);
    let xref: usize = tail.lines().next().and_then(|l| l.trim().parse().ok()).ok_or("bad startxref")?;
    if !pdf.get(xref..).is_some_and(|b| b.starts_with(b"xref\n")) {
        return Err(format!("startxref {xref} does not point at the xref table"));
    }
    let table = ascii(&pdf[xref..]);
    let mut rows = table.lines().skip(1);
    let count: usize =
        rows.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|n| n.parse().ok()).ok_or("bad xref header")?;
    for (n, row) in rows.skip(1).take(count.saturating_sub(1)).enumerate() {
        let offset: usize = row.get(..10).and_then(|o| o.parse().ok()).ok_or("bad xref row")?;
        let expected = format!("{} 0 obj", n + 1);
        if !pdf.get(offset..).is_some_and(|b| b.starts_with(expected.as_bytes())) {
            return Err(format!("object {} is not at offset {offset}", n + 1));
        }
    }
    let mut lines = Vec::new();
    let mut rest = pdf;
    while let Some(at) = find(rest, b"BT ") {
        let end = find(&rest[at..], b" ET").ok_or("unterminated text")? + at;
        let mut line = Vec::new();
        let mut chunk = &rest[at..end];
        while let Some(open) = chunk.iter().position(|&b| b == b'(') {
            let mut i = open + 1;
            while i < chunk.len() && chunk[i] != b')' {
                if chunk[i] == b'\\' {
                    if chunk.get(i + 1).is_some_and(u8::is_ascii_digit) {
                        let oct = std::str::from_utf8(&chunk[i + 1..i + 4]).map_err(|e| e.to_string())?;
                        line.push(u8::from_str_radix(oct, 8).map_err(|e| e.to_string())?);
                        i += 4;
                        continue;
                    }
                    i += 1;
                }
                line.push(chunk[i]);
                i += 1;
            }
            chunk = &chunk[(i + 1).min(chunk.len())..];
        }
        // WinAnsi's Latin-1 half maps straight to Unicode.
        lines.push(line.iter().map(|&b| if b == 0x85 { '…' } else { b as char }).collect());
        rest = &rest[end + 3..];
    }
    Ok(lines)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_short_document_is_one_page_that_reads_back_line_for_line() {
        let mut d = Document::new("Message for Lakeside Clinic");
        d.heading("Message for Lakeside Clinic from José (Joe) Park")
            .text("Taken by Ann at 9:14 AM Tue Dec 8.")
            .gap()
            .field("Callback number", "(312) 555-0188")
            .field("Reason", "Refill of blood pressure medication \\ asap");
        let pdf = d.to_bytes();
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert_eq!(d.page_count(), 1);
        assert_eq!(
            lines_of(&pdf).unwrap(),
            [
                "Message for Lakeside Clinic from José (Joe) Park",
                "Taken by Ann at 9:14 AM Tue Dec 8.",
                "Callback number: (312) 555-0188",
                "Reason: Refill of blood pressure medication \\ asap",
                "Page 1 of 1",
            ]
        );
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("Jos\\351 \\(Joe\\) Park) Tj"), "é in WinAnsi, parentheses escaped");
        assert!(text.contains("/Title (Message for Lakeside Clinic)"));
    }

    #[test]
    fn long_values_wrap_at_the_margin_and_long_documents_break_into_pages() {
        let mut d = Document::new("Long");
        let words = "The tenant in unit 4B reports water coming through the ceiling of the bathroom";
        d.field("Problem", &format!("{words} {words}"));
        let lines = lines_of(&d.to_bytes()).unwrap();
        assert_eq!(
            lines,
            [
                "Problem: The tenant in unit 4B reports water coming through the ceiling of",
                "    the bathroom The tenant in unit 4B reports water coming through the",
                "    ceiling of the bathroom",
                "Page 1 of 1",
            ]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 76), "76 columns of 11 pt Courier in 7 inches");

        let mut d = Document::new("Recap");
        for i in 1..=60 {
            d.field(&format!("Line {i}"), "x");
        }
        assert_eq!(d.page_count(), 2);
        let lines = lines_of(&d.to_bytes()).unwrap();
        assert_eq!(lines.iter().filter(|l| l.starts_with("Page ")).collect::<Vec<_>>(), ["Page 1 of 2", "Page 2 of 2"]);
        assert_eq!(lines.len(), 62);
    }

    #[test]
    fn a_word_longer_than_a_line_is_cut_and_characters_outside_winansi_print_as_question_marks() {
        assert_eq!(wrap(&"x".repeat(10), 4, 0), ["xxxx", "xxxx", "xx"]);
        assert_eq!(wrap("ab cd ef", 5, 2), ["ab cd", "  ef"]);
        assert_eq!(literal("日本 – ok…"), b"?? \\226 ok\\205".to_vec());
    }

    #[test]
    fn a_damaged_file_is_caught() {
        let pdf = Document::new("x").text("hello").to_bytes();
        let mut shifted = pdf.clone();
        shifted.insert(20, b' ');
        let e = lines_of(&shifted).unwrap_err();
        assert!(e.starts_with("startxref ") && e.ends_with(" does not point at the xref table"), "{e}");
        // An object moved without its table row.
        let row = find(&pdf, b"0000000015 00000 n").unwrap();
        let mut wrong = pdf.clone();
        wrong[row + 9] = b'6';
        assert_eq!(lines_of(&wrong).unwrap_err(), "object 1 is not at offset 16");
        assert_eq!(lines_of(b"hello").unwrap_err(), "not a PDF");
    }
}
