//! Local passwords: argon2id with the crate's default parameters (19 MiB, 2 passes), stored as a
//! PHC string so the parameters can be raised later without breaking old hashes.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The shortest password an admin may set.
pub const MIN_LEN: usize = 12;

/// Why a password is refused (in Dutch: it is shown to the admin next to the field).
pub fn check_policy(pw: &str) -> Result<(), String> {
    let n = pw.chars().count();
    if n < MIN_LEN {
        return Err(format!("minstens {MIN_LEN} tekens"));
    }
    if n > 200 {
        return Err("hoogstens 200 tekens".into());
    }
    Ok(())
}

pub fn hash(pw: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(pw.as_bytes(), &salt)?
        .to_string())
}

/// Checks `pw` against a stored PHC string; a malformed hash never verifies.
pub fn verify(pw: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so a failed sign-in takes as long
/// for an unknown e-mail address as for a wrong password.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash("not a password of anyone").unwrap_or_default());
    &H
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_only_their_password() {
        let h = super::hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse battery", &h));
        assert!(!super::verify("wrong horse battery", &h));
        assert!(!super::verify("x", "not a phc string"));
        assert!(super::check_policy("short").is_err());
        assert!(super::check_policy("long enough password").is_ok());
    }
}
