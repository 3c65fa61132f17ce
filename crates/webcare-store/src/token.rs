//! API tokens: 32 random bytes, shown once as `wc_<base64url>`; only a SHA-256 hash is stored, so a
//! leaked database does not leak usable tokens. (A slow hash is not needed: the token has 256 bits
//! of entropy, so it cannot be guessed from its hash.)

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "wc_";

pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_unique_and_hashes_stable() {
        let a = super::generate();
        let b = super::generate();
        assert_ne!(a, b);
        assert!(a.starts_with("wc_") && a.len() > 40);
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_ne!(super::hash(&a), super::hash(&b));
    }
}
