//! Where the key of the phone's encrypted store is kept: the platform's business, behind
//! [`KeyVault`].
//!
//! What each place protects against, honestly:
//! - [`KeyFile`] (desktop, liveview, tests): a file next to the store that only its owner may
//!   read (mode 0600). The store file alone — copied by a backup or sync tool, left on a disk —
//!   reads as noise; another user of the machine cannot read the key. Whoever runs as the same
//!   user (or as root) reads both, so it does not protect against them.
//! - A phone's native build should keep the key in the OS keystore (Android Keystore, iOS
//!   Keychain) behind this trait, so it never leaves the device and is released to this app only.
//!   Those builds cannot be made on our machines (no NDK, no Xcode), so today every native build
//!   uses [`KeyFile`]: in a phone app's private storage other apps cannot read it, but a device
//!   backup would copy it along with the store.
//! - The web app: see `web::worker`.

use std::path::{Path, PathBuf};

use crate::store::StoreKey;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the store's key file {path} could not be read or written: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the store's key file {path} is damaged (expected 64 hex digits); the store cannot be opened without its key")]
    Malformed { path: String },
}

/// Gives the key of the store at a path, making one the first time.
pub trait KeyVault: Send + Sync {
    fn store_key(&self, store: &Path) -> Result<StoreKey, KeyError>;
}

/// The key in a file beside the store (`<store>.key`), readable by its owner only.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyFile;

impl KeyFile {
    pub fn path_for(store: &Path) -> PathBuf {
        let mut p = store.as_os_str().to_owned();
        p.push(".key");
        PathBuf::from(p)
    }
}

impl KeyVault for KeyFile {
    fn store_key(&self, store: &Path) -> Result<StoreKey, KeyError> {
        let path = Self::path_for(store);
        let shown = path.display().to_string();
        let io = |source| KeyError::Io { path: shown.clone(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = StoreKey::from_hex(&text).ok_or(KeyError::Malformed { path: shown.clone() })?;
                restrict(&path).map_err(io)?;
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = StoreKey::generate();
                write_new(&path, key.to_hex().as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// Writes a new file readable by its owner only, durably (a key lost is a store lost).
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A key file others could read is made private again.
fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the store's key file was readable by others; made it private");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
