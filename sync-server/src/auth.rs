//! Authentication of devices, and the secrets everyone presents. Devices and office accounts
//! present bearer tokens; the server stores only their BLAKE3 hashes (tokens are 256-bit random,
//! so a fast hash is enough; passwords, which people choose, get Argon2 in `accounts`). Handlers
//! take [`DeviceAuth`] (or one of `staff`'s extractors) and so cannot forget to check.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::AppError;
use crate::store::DeviceIdentity;

/// A fresh secret: `prefix` + 64 hex digits.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn hash_secret(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

/// A pairing code a technician types: 8 characters without look-alikes (0/O, 1/I/L).
pub fn new_pairing_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, AppError> {
    let value = headers.get(axum::http::header::AUTHORIZATION).ok_or(AppError::NoToken)?;
    let value = value.to_str().map_err(|_| AppError::NoToken)?;
    value.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()).ok_or(AppError::NoToken)
}

/// A request from a paired, unrevoked device: the store's [`DeviceIdentity`], which only this
/// extractor makes from a request.
#[derive(Clone, Debug)]
pub struct DeviceAuth(pub DeviceIdentity);

impl std::ops::Deref for DeviceAuth {
    type Target = DeviceIdentity;
    fn deref(&self) -> &DeviceIdentity {
        &self.0
    }
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)?;
        let who = state.store.device_by_token(&hash_secret(token)).await?.ok_or(AppError::BadToken)?;
        if state.device_limiter.check_key(&who.device).is_err() {
            return Err(AppError::RateLimited);
        }
        Ok(DeviceAuth(who))
    }
}
