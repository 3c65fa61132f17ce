//! The two forms of a contact's export (AVG art. 15): the machine-readable JSON document and a
//! readable Dutch HTML summary for the citizen. Both are written piece by piece by the one loop
//! in `contacts::export` (head, each case, the access log's rows, end), so they hold the same
//! cases and rows and cannot drift. The HTML has no external assets (one inline style) and
//! escapes every stored text: citizens wrote most of it.

use super::audit::AuditEvent;
use super::contacts::{ContactSummary, ExportCase};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::fmt::Write as _;
use utoipa::{IntoParams, ToSchema};
use webcare_domain::dutch;

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON document (`ContactExport`).
    #[default]
    Json,
    /// A readable Dutch summary of the same data, one HTML page without external assets.
    Html,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (the default) or `html`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// One form of the export, fed by the export's loop.
pub trait ExportWriter: Send {
    fn content_type(&self) -> &'static str;
    fn extension(&self) -> &'static str;
    fn head(&mut self, at: DateTime<Utc>, contact: &ContactSummary) -> anyhow::Result<Vec<u8>>;
    fn case(&mut self, case: &ExportCase) -> anyhow::Result<Vec<u8>>;
    /// After the last case, before the first row of the access log.
    fn access_log(&mut self) -> Vec<u8>;
    fn audit(&mut self, event: &AuditEvent) -> anyhow::Result<Vec<u8>>;
    fn end(&mut self) -> Vec<u8>;
}

impl ExportFormat {
    pub fn writer(self) -> Box<dyn ExportWriter> {
        match self {
            ExportFormat::Json => Box::new(JsonExport { first: true }),
            ExportFormat::Html => Box::new(HtmlExport { cases: 0 }),
        }
    }
}

// ------------------------------------------------------------------------------------ JSON

struct JsonExport {
    /// No comma before the next item of the array being written.
    first: bool,
}

impl JsonExport {
    fn item(&mut self, v: &impl serde::Serialize) -> anyhow::Result<Vec<u8>> {
        let mut buf = if self.first {
            Vec::new()
        } else {
            b",".to_vec()
        };
        self.first = false;
        serde_json::to_writer(&mut buf, v)?;
        Ok(buf)
    }
}

impl ExportWriter for JsonExport {
    fn content_type(&self) -> &'static str {
        "application/json"
    }
    fn extension(&self) -> &'static str {
        "json"
    }
    fn head(&mut self, at: DateTime<Utc>, contact: &ContactSummary) -> anyhow::Result<Vec<u8>> {
        let mut head = br#"{"exportedAt":"#.to_vec();
        serde_json::to_writer(&mut head, &at)?;
        head.extend_from_slice(br#","notes":"#);
        serde_json::to_writer(&mut head, &contact.notes)?;
        head.extend_from_slice(br#","contact":"#);
        serde_json::to_writer(&mut head, contact)?;
        head.extend_from_slice(br#","cases":["#);
        Ok(head)
    }
    fn case(&mut self, case: &ExportCase) -> anyhow::Result<Vec<u8>> {
        self.item(case)
    }
    fn access_log(&mut self) -> Vec<u8> {
        self.first = true;
        br#"],"accessLog":["#.to_vec()
    }
    fn audit(&mut self, event: &AuditEvent) -> anyhow::Result<Vec<u8>> {
        self.item(event)
    }
    fn end(&mut self) -> Vec<u8> {
        b"]}".to_vec()
    }
}

// ------------------------------------------------------------------------------------ HTML

/// Text as HTML text or attribute value.
fn esc(s: &str) -> String {
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

fn opt(s: Option<&str>) -> String {
    s.map_or_else(|| "–".into(), esc)
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.25rem .5rem;text-align:left;vertical-align:top}\
dt{font-weight:bold}section{border-top:2px solid #333;margin-top:2rem}.tekst{white-space:pre-wrap}";

struct HtmlExport {
    cases: usize,
}

impl ExportWriter for HtmlExport {
    fn content_type(&self) -> &'static str {
        "text/html; charset=utf-8"
    }
    fn extension(&self) -> &'static str {
        "html"
    }
    fn head(&mut self, at: DateTime<Utc>, c: &ContactSummary) -> anyhow::Result<Vec<u8>> {
        let mut h = String::new();
        write!(
            h,
            "<!DOCTYPE html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
             <title>Uw gegevens bij de gemeente</title><style>{STYLE}</style></head><body>\
             <h1>Uw gegevens bij de gemeente</h1>\
             <p>Dit overzicht is gemaakt op {} (tijden in Nederlandse tijd). Het bevat alles wat \
             de webcare-desk over u heeft vastgelegd: uw accounts, uw zaken met de berichten \
             van u en van de gemeente, notities, vragen aan vakafdelingen en wie uw gegevens \
             bekeek. Hetzelfde staat in het bijgeleverde JSON-bestand.</p>\
             <h2>Uw gegevens</h2><dl><dt>Nummer</dt><dd>{}</dd><dt>Naam</dt><dd>{}</dd>\
             <dt>Telefoonnummer</dt><dd>{}</dd><dt>Geen automatisch antwoord buiten kantoortijd\
             </dt><dd>{}</dd><dt>Notities van de gemeente</dt><dd class=\"tekst\">{}</dd></dl>\
             <h2>Uw accounts</h2><table><thead><tr><th scope=\"col\">Kanaal</th>\
             <th scope=\"col\">Naam</th><th scope=\"col\">Gebruikersnaam</th>\
             <th scope=\"col\">Nummer op het platform</th><th scope=\"col\">Sinds</th></tr>\
             </thead><tbody>",
            dutch::datetime(at),
            c.id,
            opt(c.display_name.as_deref()),
            opt(c.phone.as_deref()),
            if c.no_auto_reply { "ja" } else { "nee" },
            opt(c.notes.as_deref()),
        )?;
        for i in &c.identities {
            write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                dutch::channel(i.channel),
                opt(i.display_name.as_deref()),
                opt(i.handle.as_deref()),
                esc(&i.platform_user_id),
                dutch::datetime(i.created_at),
            )?;
        }
        h.push_str("</tbody></table><h2>Uw zaken</h2>");
        Ok(h.into_bytes())
    }

    fn case(&mut self, e: &ExportCase) -> anyhow::Result<Vec<u8>> {
        self.cases += 1;
        let c = &e.case;
        let mut h = String::new();
        write!(
            h,
            "<section><h3>Zaak {}</h3><dl><dt>Kanaal</dt><dd>{}</dd><dt>Soort</dt><dd>{}</dd>\
             <dt>Onderwerp</dt><dd>{}</dd><dt>Status</dt><dd>{}</dd><dt>Eerste bericht</dt>\
             <dd>{}</dd><dt>Afgehandeld</dt><dd>{}</dd><dt>Zaak in het zaaksysteem</dt><dd>{}</dd>\
             </dl><h4>Berichten</h4>",
            c.id,
            c.channel_kind.map_or("–", dutch::channel),
            dutch::kind(c.kind),
            opt(c.theme.as_deref()),
            dutch::status(c.status),
            dutch::datetime(c.first_message_at),
            c.resolved_at.map_or_else(|| "–".into(), dutch::datetime),
            opt(c.zaak_url.as_deref()),
        )?;
        list(&mut h, &e.messages, "Geen berichten.", |h, m| {
            let who = m
                .author
                .display_name
                .as_deref()
                .or(m.author.handle.as_deref());
            write!(
                h,
                "<li><p>{}, {} ({}){}{}</p><p class=\"tekst\">{}</p></li>",
                dutch::datetime(m.sent_at),
                dutch::direction(m.direction),
                dutch::visibility(m.visibility),
                who.map_or_else(String::new, |w| format!(", {}", esc(w))),
                m.deleted_at.map_or_else(String::new, |d| format!(
                    "; verwijderd op {}",
                    dutch::datetime(d)
                )),
                esc(&m.text),
            )
        })?;
        h.push_str("<h4>Antwoorden van de gemeente</h4>");
        list(&mut h, &e.replies, "Geen antwoorden.", |h, r| {
            write!(
                h,
                "<li><p>{}, {} ({})</p><p class=\"tekst\">{}</p></li>",
                dutch::datetime(r.created_at),
                dutch::delivery(r.state),
                dutch::visibility(r.visibility),
                esc(&r.text),
            )
        })?;
        h.push_str("<h4>Notities van de gemeente</h4>");
        list(&mut h, &e.notes, "Geen notities.", |h, n| {
            write!(
                h,
                "<li><p>{}</p><p class=\"tekst\">{}</p></li>",
                dutch::datetime(n.created_at),
                esc(&n.text),
            )
        })?;
        h.push_str("<h4>Vragen aan vakafdelingen</h4>");
        list(&mut h, &e.forwards, "Geen vragen.", |h, f| {
            write!(
                h,
                "<li><p>{}: vraag</p><p class=\"tekst\">{}</p><p>Antwoord: {}</p></li>",
                dutch::datetime(f.forwarded_at),
                esc(&f.question),
                opt(f.answer.as_deref()),
            )
        })?;
        h.push_str("</section>");
        Ok(h.into_bytes())
    }

    fn access_log(&mut self) -> Vec<u8> {
        let none = if self.cases == 0 {
            "<p>Er zijn geen zaken.</p>"
        } else {
            ""
        };
        format!(
            "{none}<h2>Wie uw gegevens bekeek of wijzigde</h2><table><thead><tr>\
             <th scope=\"col\">Wanneer</th><th scope=\"col\">Wie</th><th scope=\"col\">Wat</th>\
             <th scope=\"col\">Zaak</th></tr></thead><tbody>"
        )
        .into_bytes()
    }

    fn audit(&mut self, a: &AuditEvent) -> anyhow::Result<Vec<u8>> {
        Ok(format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            dutch::datetime(a.at),
            esc(dutch::audit_actor(&a.actor)),
            esc(dutch::audit_action(&a.action)),
            a.case_id.map(|c| c.to_string()).unwrap_or_default(),
        )
        .into_bytes())
    }

    fn end(&mut self) -> Vec<u8> {
        b"</tbody></table></body></html>".to_vec()
    }
}

/// `items` as an `<ol>`, or `empty` as a paragraph.
fn list<T>(
    h: &mut String,
    items: &[T],
    empty: &str,
    mut item: impl FnMut(&mut String, &T) -> std::fmt::Result,
) -> std::fmt::Result {
    if items.is_empty() {
        return write!(h, "<p>{empty}</p>");
    }
    h.push_str("<ol>");
    for i in items {
        item(h, i)?;
    }
    h.push_str("</ol>");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_in_stored_text_is_only_text() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
