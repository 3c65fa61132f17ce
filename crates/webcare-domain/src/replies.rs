//! Rules about a case's replies that other case work depends on.

use crate::inbound::DeliveryState;

/// Whether a reply in `state` has reached the platform (sent, delivered or read). Pending and
/// sending replies are still on their way; failed ones never arrive.
pub fn is_delivered(state: DeliveryState) -> bool {
    matches!(
        state,
        DeliveryState::Sent | DeliveryState::Delivered | DeliveryState::Read
    )
}

/// Resolving a case needs the agent's confirmation when its last reply by an agent has not been
/// delivered: the citizen may have nothing. `replies` are `(state, auto_reply)` oldest first; the
/// out-of-hours auto-reply is no answer by an agent and does not count. Answers the undelivered
/// state of that last reply, or `None` when resolving needs no confirmation (no reply at all: an
/// answer may have gone another way).
pub fn undelivered_last_reply(
    replies: impl IntoIterator<Item = (DeliveryState, bool)>,
) -> Option<DeliveryState> {
    replies
        .into_iter()
        .filter(|(_, auto)| !auto)
        .last()
        .map(|(s, _)| s)
        .filter(|s| !is_delivered(*s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryState::*;

    #[test]
    fn the_last_agent_reply_decides() {
        assert_eq!(undelivered_last_reply([]), None);
        assert_eq!(undelivered_last_reply([(Sent, false)]), None);
        assert_eq!(undelivered_last_reply([(Read, false)]), None);
        for s in [Pending, Sending, Failed] {
            assert_eq!(undelivered_last_reply([(s, false)]), Some(s));
            // An earlier undelivered reply answered again later is fine...
            assert_eq!(
                undelivered_last_reply([(s, false), (Delivered, false)]),
                None
            );
            // ...a later undelivered one is not.
            assert_eq!(undelivered_last_reply([(Sent, false), (s, false)]), Some(s));
        }
        // The auto-reply is not the agent's answer, delivered or not.
        assert_eq!(
            undelivered_last_reply([(Sent, false), (Failed, true)]),
            None
        );
        assert_eq!(
            undelivered_last_reply([(Failed, false), (Sent, true)]),
            Some(Failed)
        );
        assert_eq!(undelivered_last_reply([(Pending, true)]), None);
    }
}
