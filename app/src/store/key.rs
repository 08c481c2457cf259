//! The key the phone's store is encrypted with (SQLCipher natively: AES-256 pages with an HMAC
//! each). It is 32 random bytes used as the raw key, so opening costs no key derivation; where it
//! is kept is the platform's business (`platform::keys`).

/// A store key. Its bytes never appear in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom_fill(&mut bytes);
        StoreKey(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        StoreKey(bytes)
    }

    /// The key as 64 hex digits (how a key file keeps it).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(StoreKey(bytes))
    }

    /// The value of `PRAGMA key` for this raw key.
    pub(super) fn pragma(&self) -> String {
        format!("x'{}'", self.to_hex())
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        // Best effort: the key does not linger in freed memory.
        self.0 = [0; 32];
        // Read after the write, so the write is not optimised away.
        std::hint::black_box(&self.0);
    }
}

fn getrandom_fill(bytes: &mut [u8]) {
    getrandom::fill(bytes).expect("the OS (or the browser's crypto) gives random bytes");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_as_hex_and_never_print() {
        let k = StoreKey::generate();
        assert_eq!(StoreKey::from_hex(&k.to_hex()), Some(k.clone()));
        assert_ne!(k, StoreKey::generate());
        assert_eq!(format!("{k:?}"), "StoreKey(..)");
        assert!(StoreKey::from_hex("xyz").is_none());
        assert!(k.pragma().starts_with("x'") && k.pragma().len() == 67);
    }
}
