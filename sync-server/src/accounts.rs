//! Office accounts: the people (and integrations) who use the dispatcher endpoint, each with a
//! role. Passwords are hashed with Argon2id; API tokens are random secrets stored as hashes and
//! shown once.
//!
//! Roles are ordered: a role may do everything the roles below it may.
//! - `viewer` reads jobs, technicians, KPIs and reports;
//! - `dispatcher` also creates and changes jobs (assign, reschedule, cancel, notes, photos);
//! - `admin` also manages accounts, technicians and their phones, reference data and erasure,
//!   and reads the audit log.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub use crate::store::accounts::{Account, Actor, ApiToken, Role, UnknownRole, Via};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; office accounts reach
/// customers' data, so a little more).
pub const PASSWORD_CHARS_MIN: usize = 10;
/// Longest password accepted, so hashing cost stays bounded for any input.
pub const PASSWORD_BYTES_MAX: usize = 256;

/// A login: 3–64 characters of lowercase letters, digits, `.`, `_`, `-` (what people type and
/// what fits in a log line), compared without case.
pub fn check_login(login: &str) -> Result<String, AccountError> {
    let l = login.trim().to_lowercase();
    let ok = (3..=64).contains(&l.chars().count())
        && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(AccountError::Invalid(
            "a login is 3 to 64 characters: letters a–z, digits, '.', '_' or '-' (登录名为 3–64 个字母、数字、. _ -)".into(),
        ));
    }
    Ok(l)
}

/// A display name (as job timelines show it): 1–100 characters, no control characters.
pub fn check_name(name: &str) -> Result<String, AccountError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(AccountError::Invalid("a name is 1 to 100 characters without control characters (姓名为 1–100 个字符)".into()));
    }
    Ok(n.to_owned())
}

pub fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < PASSWORD_CHARS_MIN || password.len() > PASSWORD_BYTES_MAX {
        return Err(AccountError::Invalid(format!(
            "a password is {PASSWORD_CHARS_MIN} to {PASSWORD_BYTES_MAX} bytes long (密码长度为 {PASSWORD_CHARS_MIN}–{PASSWORD_BYTES_MAX})"
        )));
    }
    Ok(())
}

/// Argon2id with the crate's defaults (OWASP's recommended 19 MiB, 2 passes): about 30 ms of one
/// core here, so run it off the async workers (`CpuPool`).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    check_password(password)?;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| AccountError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches `hash` (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > PASSWORD_BYTES_MAX {
        return false;
    }
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the login is unknown, so a wrong login costs as long as a wrong
/// password and logins cannot be probed by timing.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").expect("hashing works"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Viewer < Role::Dispatcher && Role::Dispatcher < Role::Admin);
        for r in [Role::Viewer, Role::Dispatcher, Role::Admin] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn logins_are_normalised_and_bounded() {
        assert_eq!(check_login(" Ann.Li ").unwrap(), "ann.li");
        assert!(check_login("ab").is_err());
        assert!(check_login("ann li").is_err());
        assert!(check_login("安").is_err());
        assert!(check_login(&"a".repeat(65)).is_err());
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse battery!", &h));
        assert!(!verify_password("anything", "not a hash"));
        assert!(hash_password("short").is_err());
        assert!(hash_password(&"x".repeat(PASSWORD_BYTES_MAX + 1)).is_err());
    }
}
