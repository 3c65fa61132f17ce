//! Per-channel limits the agent sees before sending: maximum length and the messaging window.

use crate::outbound::WindowInfo;
use chrono::{DateTime, Duration, Utc};
use webcare_domain::model::{ChannelKind, Visibility};

/// How a platform counts the length of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharCounting {
    /// Unicode scalar values (what Meta documents as "characters").
    Chars,
    /// X's weighted count, approximated: see [`text_length`].
    XWeighted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_chars: usize,
    pub counting: CharCounting,
    /// Free-form replies are allowed this long after the citizen's last message (`None`: always).
    pub free_window: Option<Duration>,
    /// Beyond `free_window`, a tagged reply (Messenger/Instagram `HUMAN_AGENT`) is allowed up to
    /// this long after the citizen's last message.
    pub tagged_window: Option<Duration>,
}

/// Limits for a reply on a channel: X posts 280 (weighted), X DMs 10 000, Messenger 2 000,
/// Instagram DMs 1 000 and comments 2 200, Facebook comments 8 000, WhatsApp 4 096.
pub fn channel_limits(kind: ChannelKind, visibility: Visibility) -> Limits {
    use ChannelKind::*;
    use Visibility::*;
    let (max_chars, counting) = match (kind, visibility) {
        (X, Public) => (280, CharCounting::XWeighted),
        (X, Private) => (10_000, CharCounting::Chars),
        (FacebookPage, Public) => (8_000, CharCounting::Chars),
        (FacebookPage, Private) => (2_000, CharCounting::Chars),
        (Instagram, Public) => (2_200, CharCounting::Chars),
        (Instagram, Private) => (1_000, CharCounting::Chars),
        (Whatsapp, _) => (4_096, CharCounting::Chars),
        (Api, _) => (100_000, CharCounting::Chars),
    };
    let (free_window, tagged_window) = match (kind, visibility) {
        (FacebookPage | Instagram, Private) => (Some(Duration::hours(24)), Some(Duration::days(7))),
        (Whatsapp, _) => (Some(Duration::hours(24)), None),
        _ => (None, None),
    };
    Limits {
        max_chars,
        counting,
        free_window,
        tagged_window,
    }
}

/// The length of `text` as the channel counts it.
///
/// X weighting (an approximation of twitter-text v3): code points in Latin, general punctuation
/// and similar ranges weigh 1, everything else (CJK, emoji) 2; ZWJ sequences, flags, skin tones
/// and variation selectors add nothing, so an emoji sequence counts 2; each
/// `http(s)://` URL counts 23 (t.co). It can over-count rare scripts, never by enough to matter
/// for a refusal we then double-check against X's own 400.
pub fn text_length(kind: ChannelKind, visibility: Visibility, text: &str) -> usize {
    match channel_limits(kind, visibility).counting {
        CharCounting::Chars => text.chars().count(),
        CharCounting::XWeighted => x_weighted_length(text),
    }
}

fn x_weighted_length(text: &str) -> usize {
    let mut total = 0;
    for word in text.split_inclusive(char::is_whitespace) {
        let trimmed = word.trim_end();
        if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
            total += 23 + (word.len() - trimmed.len());
        } else {
            total += x_word_weight(word);
        }
    }
    total
}

/// Emoji sequences count once: a code point joined by ZWJ to the previous one, the second of a
/// regional-indicator pair (a flag), modifiers and variation selectors weigh nothing.
fn x_word_weight(word: &str) -> usize {
    let mut total = 0;
    let mut after_zwj = false;
    let mut open_flag = false;
    for c in word.chars() {
        let cp = c as u32;
        let regional = (0x1F1E6..=0x1F1FF).contains(&cp);
        let w = match cp {
            0x200D => {
                after_zwj = true;
                continue;
            }
            0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F => 0,
            _ if after_zwj => 0,
            _ if regional && open_flag => 0,
            0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
            _ => 2,
        };
        open_flag = regional && !open_flag;
        after_zwj = false;
        total += w;
    }
    total
}

/// Where a private conversation stands for a free-form reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowState {
    /// Public channels and the `api` channel: no window.
    NotApplicable,
    /// Free-form replies allowed for `remaining`.
    Open { remaining: Duration },
    /// Only a tagged (`HUMAN_AGENT`) reply, for `remaining`.
    TagOnly { remaining: Duration },
    /// No free-form reply possible (WhatsApp: a template still is).
    Closed,
}

/// The window for a reply now, from the citizen's last message on this conversation.
pub fn window_state(
    kind: ChannelKind,
    visibility: Visibility,
    window: &WindowInfo,
    now: DateTime<Utc>,
) -> WindowState {
    let limits = channel_limits(kind, visibility);
    let Some(free) = limits.free_window else {
        return WindowState::NotApplicable;
    };
    let Some(last) = window.last_citizen_message_at else {
        return WindowState::Closed;
    };
    // A citizen message stamped slightly in the future (clock skew) counts as just now.
    let elapsed = (now - last).max(Duration::zero());
    if elapsed < free {
        return WindowState::Open {
            remaining: free - elapsed,
        };
    }
    match limits.tagged_window {
        Some(tagged) if elapsed < tagged => WindowState::TagOnly {
            remaining: tagged - elapsed,
        },
        _ => WindowState::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_weighting_counts_emoji_cjk_and_urls() {
        let x = |t| text_length(ChannelKind::X, Visibility::Public, t);
        assert_eq!(x("hallo"), 5);
        assert_eq!(x("héllo wörld"), 11);
        assert_eq!(x("日本"), 4);
        assert_eq!(x("👍"), 2);
        assert_eq!(x("👨\u{200D}👩\u{200D}👧\u{200D}👦"), 2);
        assert_eq!(x("🇳🇱🇧🇪"), 4);
        assert_eq!(x("❤️\u{200D}🔥"), 2);
        assert_eq!(x("👍🏽"), 2);
        assert_eq!(
            x("zie https://www.denhaag.nl/nl/afval/heel-lange-url-met-veel-tekens"),
            27
        );
        let messenger = text_length(ChannelKind::FacebookPage, Visibility::Private, "👍🏽");
        assert_eq!(messenger, 2);
    }

    #[test]
    fn windows() {
        let now = DateTime::from_timestamp(1_773_139_267, 0).unwrap();
        let at = |h| WindowInfo {
            last_citizen_message_at: Some(now - Duration::hours(h)),
        };
        let m =
            |w: &WindowInfo| window_state(ChannelKind::FacebookPage, Visibility::Private, w, now);
        assert_eq!(
            m(&at(1)),
            WindowState::Open {
                remaining: Duration::hours(23)
            }
        );
        assert_eq!(
            m(&at(30)),
            WindowState::TagOnly {
                remaining: Duration::hours(138)
            }
        );
        assert_eq!(m(&at(24 * 8)), WindowState::Closed);
        let wa = |w: &WindowInfo| window_state(ChannelKind::Whatsapp, Visibility::Private, w, now);
        assert_eq!(wa(&at(30)), WindowState::Closed);
        assert_eq!(wa(&WindowInfo::default()), WindowState::Closed);
        assert_eq!(
            window_state(ChannelKind::X, Visibility::Public, &at(1000), now),
            WindowState::NotApplicable
        );
    }
}
