mod common;

use common::fixture;
use webcare_connectors::signature::*;

const SECRET: &[u8] = b"app-secret-0123456789abcdef";

#[test]
fn meta_good_signature_over_raw_escaped_bytes() {
    let body = fixture("meta_feed_batch.json");
    let header = sign_meta(SECRET, &body);
    assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
    assert_eq!(verify_meta_signature(SECRET, &body, Some(&header)), Ok(()));
    // Upper-case hex and surrounding whitespace are tolerated.
    let upper = format!("  sha256={} ", header[7..].to_uppercase());
    assert_eq!(verify_meta_signature(SECRET, &body, Some(&upper)), Ok(()));
}

#[test]
fn meta_known_vector() {
    // HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog")
    let h = sign_meta(b"key", b"The quick brown fox jumps over the lazy dog");
    assert_eq!(
        h,
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
}

#[test]
fn meta_rejections() {
    let body = fixture("messenger_batch.json");
    let header = sign_meta(SECRET, &body);
    assert_eq!(
        verify_meta_signature(b"wrong", &body, Some(&header)),
        Err(SignatureError::Mismatch)
    );
    let mut tampered = body.clone();
    tampered[20] ^= 1;
    assert_eq!(
        verify_meta_signature(SECRET, &tampered, Some(&header)),
        Err(SignatureError::Mismatch)
    );
    // Re-serialising (UTF-8 instead of \u escapes) changes the bytes and must fail.
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()).unwrap();
    assert_eq!(
        verify_meta_signature(SECRET, &reserialised, Some(&header)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_meta_signature(SECRET, &body, None),
        Err(SignatureError::Missing)
    );
    for bad in [
        "",
        "sha256=",
        "sha256=zz",
        "sha1=abcdef",
        "sha256=abc",
        "deadbeef",
        "sha256=ÿÿ",
        &header[..40],
    ] {
        assert_eq!(
            verify_meta_signature(SECRET, &body, Some(bad)),
            Err(SignatureError::Malformed),
            "{bad}"
        );
    }
    let with_sha1_digest = format!("sha256={}", "ab".repeat(20));
    assert_eq!(
        verify_meta_signature(SECRET, &body, Some(&with_sha1_digest)),
        Err(SignatureError::Malformed)
    );
}

#[test]
fn x_signature_and_crc() {
    let body = fixture("x_aaa_tweets.json");
    let header = sign_x(SECRET, &body);
    assert!(header.starts_with("sha256="));
    assert_eq!(verify_x_signature(SECRET, &body, Some(&header)), Ok(()));
    assert_eq!(
        verify_x_signature(b"other", &body, Some(&header)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_x_signature(SECRET, b"{}", Some(&header)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_x_signature(SECRET, &body, None),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify_x_signature(SECRET, &body, Some("sha256=!!!not base64")),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        verify_x_signature(SECRET, &body, Some("sha256=AAAA")),
        Err(SignatureError::Malformed)
    );
    // HMAC-SHA256("key", "The quick brown fox…") in base64.
    assert_eq!(
        x_crc_response(b"key", "The quick brown fox jumps over the lazy dog"),
        "sha256=97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
    );
}

#[test]
fn our_webhook_signature_binds_the_timestamp() {
    let body = br#"{"event":"case.created","caseId":"0190c0de"}"#;
    let ts = 1773139267;
    let header = sign_webhook(SECRET, ts, body);
    assert!(header.starts_with("v1=") && header.len() == 3 + 64);
    assert_eq!(verify_webhook(SECRET, ts, body, Some(&header)), Ok(()));
    assert_eq!(
        verify_webhook(SECRET, ts + 1, body, Some(&header)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_webhook(SECRET, ts, b"{}", Some(&header)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_webhook(SECRET, ts, body, None),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify_webhook(SECRET, ts, body, Some("sha256=00")),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        verify_webhook(SECRET, ts, body, Some("v1=nothex")),
        Err(SignatureError::Mismatch)
    );
    // Rotation: any one of several v1 values.
    let rotating = format!("v1={}, {header}", "00".repeat(32));
    assert_eq!(verify_webhook(SECRET, ts, body, Some(&rotating)), Ok(()));
    // Same construction as a plain HMAC over "{ts}.{body}".
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(body);
    assert_eq!(&header[3..], &sign_meta(SECRET, &signed)[7..]);
    // Replay window.
    assert_eq!(
        verify_webhook_fresh(SECRET, ts, body, Some(&header), ts + 299, 300),
        Ok(())
    );
    assert_eq!(
        verify_webhook_fresh(SECRET, ts, body, Some(&header), ts + 301, 300),
        Err(SignatureError::Stale)
    );
}

#[test]
fn meta_subscription_handshake() {
    assert_eq!(
        meta_subscribe_challenge(Some("subscribe"), Some("tok"), Some("1158201444"), "tok"),
        Some("1158201444")
    );
    assert_eq!(
        meta_subscribe_challenge(Some("subscribe"), Some("nope"), Some("1"), "tok"),
        None
    );
    assert_eq!(
        meta_subscribe_challenge(Some("unsubscribe"), Some("tok"), Some("1"), "tok"),
        None
    );
    assert_eq!(
        meta_subscribe_challenge(Some("subscribe"), None, Some("1"), "tok"),
        None
    );
    assert_eq!(
        meta_subscribe_challenge(Some("subscribe"), Some(""), Some("1"), ""),
        None,
        "empty token never matches"
    );
}
