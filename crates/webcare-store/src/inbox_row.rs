//! The inbox row: what a case says about itself in a list without opening it. The first line of
//! the citizen's latest message and the author's name and handle sit on the `cases` row
//! (`preview`, `author_name`, `author_handle`, `last_inbound_at`, with `channel_kind`), written
//! by the ingest transaction and refreshed here when messages move, change or disappear (a
//! merge, a platform edit or delete), so the inbox reads 50 rows with no join (DESIGN 13: p99
//! <= 10 ms at 1,000,000 cases).

use crate::db::{query, Conn};
use sqlx::types::Json;
use sqlx::FromRow;
use uuid::Uuid;
use webcare_domain::inbound::{Attachment, Author};

/// The inbox line of one citizen message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InboxLine {
    /// When the message was sent (ms): a later message's line wins.
    pub at: i64,
    pub preview: String,
    pub author_name: Option<String>,
    pub author_handle: Option<String>,
}

impl InboxLine {
    pub fn new(at: i64, text: &str, author: &Author, attachments: &[Attachment]) -> InboxLine {
        InboxLine {
            at,
            preview: webcare_domain::inbox::preview(
                text,
                attachments.iter().map(|a| a.kind.as_str()),
            ),
            author_name: author.display_name.clone(),
            author_handle: author.handle.clone(),
        }
    }
}

#[derive(FromRow)]
pub(crate) struct SourceRow {
    case_id: Uuid,
    text: String,
    author: Json<Author>,
    attachments: Json<Vec<Attachment>>,
    sent_at: i64,
}

/// Recomputes the inbox line of `ids` from their stored messages: the latest citizen message
/// that is not deleted, or an empty line when there is none.
pub(crate) async fn refresh(conn: &mut Conn<'_>, ids: &[Uuid]) -> crate::Result<()> {
    for chunk in ids.chunks(200) {
        let mut q = query(
            "SELECT case_id, text, author, attachments, sent_at FROM messages \
             WHERE direction = 'inbound' AND deleted_at IS NULL AND case_id IN ",
        );
        q.push_list(chunk).push(" ORDER BY case_id, sent_at, id");
        let rows: Vec<SourceRow> = q.fetch_all(&mut *conn).await?;
        // Ordered by time within a case: the last row of each case is its latest.
        let mut latest: std::collections::HashMap<Uuid, InboxLine> = chunk
            .iter()
            .map(|id| {
                let none = InboxLine {
                    at: i64::MIN,
                    preview: String::new(),
                    author_name: None,
                    author_handle: None,
                };
                (*id, none)
            })
            .collect();
        for r in rows {
            latest.insert(
                r.case_id,
                InboxLine::new(r.sent_at, &r.text, &r.author.0, &r.attachments.0),
            );
        }
        let lines: Vec<(Uuid, InboxLine)> = latest.into_iter().collect();
        // `CASE id WHEN $k THEN $k+1 ... END` per column, the ids bound once for each.
        let n = lines.len();
        let case_by_id = |col: usize| {
            let arms: String = (0..n)
                .map(|i| format!(" WHEN ${} THEN ${}", i + 1, n * (col + 1) + i + 1))
                .collect();
            format!("CASE id{arms} END")
        };
        let mut q = query(format!(
            "UPDATE cases SET preview = {}, author_name = {}, author_handle = {}, \
             last_inbound_at = {} WHERE id IN ({})",
            case_by_id(0),
            case_by_id(1),
            case_by_id(2),
            case_by_id(3),
            placeholders(1, n)
        ));
        for (id, _) in &lines {
            q = q.bind(*id);
        }
        for (_, l) in &lines {
            q = q.bind(Some(l.preview.clone()));
        }
        for (_, l) in &lines {
            q = q.bind(l.author_name.clone());
        }
        for (_, l) in &lines {
            q = q.bind(l.author_handle.clone());
        }
        for (_, l) in &lines {
            q = q.bind((l.at != i64::MIN).then_some(l.at));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `$from, $from+1, ...`: `count` placeholders.
fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
