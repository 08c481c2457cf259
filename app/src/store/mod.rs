//! The device's local store: one SQLite file (WAL) holding every job's Automerge documents, a list
//! index kept in step with them, blobs with their upload state, sync state and reference data.
//!
//! Architecture invariant: one user action is one SQLite transaction. A method returns `Ok` only
//! after its transaction committed, so when the UI says "saved", a crash cannot lose it; and a
//! method that fails leaves the file as it was.

mod blobs;
mod docs;
mod jobs;
mod kb;
mod key;
mod reference;
mod schema;
mod sync;
mod view_cache;

use std::path::Path;
use std::time::Duration;

use blobs::pending_blob_bytes;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use shared::docs::DocError;
use shared::edit::{EditError, FieldActor};
use sync::pending_field_jobs;

pub use blobs::{BlobState, PendingBlob, ReadyPhoto};
pub use jobs::{JobSummary, JobView, TodayQuery};
pub use kb::KbHit;
pub use key::StoreKey;
pub use reference::{ScanMatch, Shortfall, StockView};
pub use schema::APPLICATION_ID;
pub use sync::JobProblem;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path} is not an OnSite store (it is another program's SQLite database); refusing to touch it")]
    Foreign { path: String },
    #[error("{path} is damaged or not a database: {detail}")]
    Corrupt { path: String, detail: String },
    #[error("the store was written by a newer OnSite (schema {found}); update the app")]
    NewerSchema { found: i64 },
    #[error(
        "{path} cannot be read with this device's key: it is damaged, or it was encrypted on another device (or its key was lost); the file was left as it is"
    )]
    WrongKey { path: String },
    #[error("this build's SQLite cannot encrypt; refusing to keep customers' data in the clear")]
    NoEncryption,
    #[error(transparent)]
    Key(#[from] crate::platform::keys::KeyError),
    #[error("no job {0} on this device")]
    NoSuchJob(String),
    #[error("job {0} is no longer yours (the office gave it to someone else or it closed); what you did before was kept")]
    JobLeft(String),
    #[error("job {job}: its {kind} document cannot be read: {source}")]
    BadDocument { job: String, kind: &'static str, source: Box<DocError> },
    #[error("job {job}: the server's sync message was refused: {detail}")]
    BadSyncMessage { job: String, detail: String },
    #[error("this device is not paired to a technician yet")]
    NotPaired,
    #[error("unsent work is on this phone ({jobs} jobs with changes, {photo_bytes} bytes of photos): sync before signing out")]
    UnsyncedWork { jobs: u64, photo_bytes: u64 },
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error("document error: {0}")]
    Doc(#[from] Box<DocError>),
    #[error("not enough {part_no} in the van (have {have}, need {need})")]
    OutOfStock { part_no: String, have: u32, need: u32 },
    #[error("parts come from the van: use a part (or remove its line) instead of editing the quote")]
    PartsFromVan,
    #[error("unknown price item {0}")]
    UnknownPriceItem(String),
    #[error("unknown part {0}")]
    UnknownPart(String),
    #[error("blob does not match its hash")]
    BlobMismatch,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored data is malformed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not encode a job view: {0}")]
    ViewEncode(String),
}

impl From<DocError> for StoreError {
    fn from(e: DocError) -> Self {
        StoreError::Doc(Box::new(e))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The local store. Not `Sync`: the app owns one behind a mutex and calls it off the UI thread.
pub struct Store {
    conn: Connection,
    identity: Option<FieldActor>,
}

/// WAL everywhere: a commit appends its pages to the log and syncs once, where a rollback
/// journal syncs the journal and then the database. In the browser the file lives in OPFS
/// through a VFS without shared memory, so the one connection takes the file in exclusive
/// locking mode first, which keeps WAL's index in its own memory (the pool's files are held by
/// one tab anyway).
const JOURNAL_MODE: &str = "WAL";

impl Store {
    /// Opens (creating if missing) the store at `path`, encrypted with the key kept beside it
    /// (`platform::keys::KeyFile`, made on first use), migrating it to this build's schema. A
    /// store from before encryption is encrypted in place first.
    ///
    /// A file that is not SQLite, is damaged, or belongs to another program is refused with a
    /// clear error and left untouched; nothing is ever reset silently.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        use crate::platform::keys::{KeyFile, KeyVault};
        let key = KeyFile.store_key(path.as_ref())?;
        Self::open_with_key(path, &key)
    }

    /// Opens the store at `path` encrypted with `key` (see [`Store::open`]).
    pub fn open_with_key(path: impl AsRef<Path>, key: &StoreKey) -> Result<Self> {
        let path = path.as_ref();
        match Self::open_inner(path, Some(key)) {
            Err(StoreError::WrongKey { path: shown }) => match plain_application_id(path) {
                Some(APPLICATION_ID) => {
                    encrypt_in_place(path, key)?;
                    Self::open_inner(path, Some(key))
                }
                Some(_) => Err(StoreError::Foreign { path: shown }),
                None => Err(StoreError::WrongKey { path: shown }),
            },
            other => other,
        }
    }

    /// Opens a store without encryption: only for measuring what encryption costs.
    pub fn open_unencrypted(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_inner(path.as_ref(), None)
    }

    fn open_inner(path: &Path, key: Option<&StoreKey>) -> Result<Self> {
        let shown = path.display().to_string();
        let corrupt = |e: rusqlite::Error| StoreError::Corrupt { path: shown.clone(), detail: e.to_string() };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // In the browser, before anything reads the file: a file in WAL mode can only be read
        // without shared memory once the connection holds it exclusively (see `JOURNAL_MODE`).
        #[cfg(target_arch = "wasm32")]
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        if let Some(key) = key {
            // Before anything reads the file. A raw key: no key derivation at every start.
            conn.execute_batch(&format!("PRAGMA key = \"{}\";", key.pragma()))?;
            if !can_encrypt(&conn) {
                return Err(StoreError::NoEncryption);
            }
        }
        let corrupt = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) if key.is_some() => StoreError::WrongKey { path: shown.clone() },
            _ => corrupt(e),
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        // The first read of the header is where a non-database file shows itself.
        let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(corrupt)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(corrupt)?;
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(corrupt)?;
        let fresh = app_id == 0 && version == 0 && tables == 0;
        if !fresh && app_id != APPLICATION_ID {
            return Err(StoreError::Foreign { path: shown });
        }
        let migrations = schema::migrations();
        if let rusqlite_migration::SchemaVersion::Outside(_) = migrations.current_version(&conn)? {
            return Err(StoreError::NewerSchema { found: version });
        }
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", JOURNAL_MODE, |r| r.get(0)).map_err(corrupt)?;
        if !mode.eq_ignore_ascii_case(JOURNAL_MODE) {
            return Err(StoreError::Corrupt {
                path: shown.clone(),
                detail: format!("the store cannot use {JOURNAL_MODE} (it is in {mode} mode)"),
            });
        }
        // FULL: a committed edit survives power loss too, not just an app crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // What the phone deletes (a signed-out technician's jobs, an erased customer) is zeroed
        // in the file, not left in its free pages.
        conn.pragma_update(None, "secure_delete", true)?;
        // In the browser every page read is a call out to OPFS: keep more of the file in memory
        // (16 MiB; the one connection is the only one, so its cache never goes stale).
        #[cfg(target_arch = "wasm32")]
        conn.pragma_update(None, "cache_size", -16_384)?;
        if fresh {
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        migrations.to_latest(&mut conn)?;
        view_cache::check_format(&conn)?;
        Ok(Store { conn, identity: None })
    }

    /// Who edits from this device (set at pairing, restored from `meta` on open).
    pub fn identity(&mut self) -> Result<Option<FieldActor>> {
        if self.identity.is_none() {
            let raw: Option<String> = self.conn.query_row("SELECT value FROM meta WHERE key = 'identity'", [], |r| r.get(0)).optional()?;
            self.identity = raw.map(|s| serde_json::from_str(&s)).transpose()?;
        }
        Ok(self.identity.clone())
    }

    pub fn set_identity(&mut self, who: &FieldActor) -> Result<()> {
        self.set_meta("identity", &serde_json::to_string(who)?)?;
        self.identity = Some(who.clone());
        Ok(())
    }

    /// Signs the technician out and leaves the phone ready for the next one: their jobs, photos,
    /// sync states, van stock and credentials are removed in one transaction; the server address
    /// and the shared reference data (catalog, prices, knowledge base) stay.
    ///
    /// Refused with [`StoreError::UnsyncedWork`], changing nothing, while any field change or
    /// photo byte has not reached the server: sign-out must never be how work is lost.
    pub fn sign_out(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        let jobs = pending_field_jobs(&tx)?;
        let photo_bytes = pending_blob_bytes(&tx)?;
        if jobs > 0 || photo_bytes > 0 {
            return Err(StoreError::UnsyncedWork { jobs, photo_bytes });
        }
        tx.execute_batch(
            "DELETE FROM doc_chunks; DELETE FROM docs; DELETE FROM jobs; DELETE FROM job_views; DELETE FROM blobs; DELETE FROM blob_wants;
             DELETE FROM sync_states; DELETE FROM van_stock; DELETE FROM van_stock_moves;
             DELETE FROM meta WHERE key IN ('identity', 'token', 'van_stock_version');",
        )?;
        tx.commit()?;
        self.identity = None;
        Ok(())
    }

    fn actor(&mut self) -> Result<FieldActor> {
        self.identity()?.ok_or(StoreError::NotPaired)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// Bytes the store occupies on disk (database plus write-ahead log).
    /// For the browser benchmark only: how often SQLite syncs (`FULL` is what the app runs with).
    #[doc(hidden)]
    pub fn set_synchronous_for_bench(&self, mode: &str) -> Result<()> {
        Ok(self.conn.pragma_update(None, "synchronous", mode)?)
    }

    pub fn size_bytes(&self) -> Result<u64> {
        // SQLCipher answers `page_size` as text; read either.
        let number = |name: &str| -> Result<i64> {
            let v: rusqlite::types::Value = self.conn.pragma_query_value(None, name, |r| r.get(0))?;
            Ok(match v {
                rusqlite::types::Value::Integer(n) => n,
                rusqlite::types::Value::Text(t) => t.trim().parse().unwrap_or(0),
                _ => 0,
            })
        };
        Ok((number("page_count")? * number("page_size")?) as u64)
    }

    /// The store's file as a plain connection with its key applied: for inspection and tests,
    /// never for the app's own reads and writes (those go through `Store`).
    #[cfg(not(target_arch = "wasm32"))]
    #[doc(hidden)]
    pub fn raw_connection(path: impl AsRef<Path>) -> Result<Connection> {
        use crate::platform::keys::{KeyFile, KeyVault};
        let key = KeyFile.store_key(path.as_ref())?;
        let conn = Connection::open(path)?;
        conn.execute_batch(&format!("PRAGMA key = \"{}\";", key.pragma()))?;
        Ok(conn)
    }
}

/// Whether this SQLite encrypts: SQLCipher natively, SQLite3 Multiple Ciphers in the browser.
/// (Either ignores `PRAGMA key` silently when it is plain SQLite, so ask.)
fn can_encrypt(conn: &Connection) -> bool {
    let sqlcipher = conn.query_row("PRAGMA cipher_version", [], |r| r.get::<_, String>(0)).optional().ok().flatten().is_some();
    sqlcipher || conn.query_row("SELECT sqlite3mc_version()", [], |r| r.get::<_, String>(0)).is_ok()
}

/// The `application_id` of an unencrypted SQLite file at `path` (`None`: encrypted, or not
/// SQLite): how a store from before encryption, or another program's database, shows itself.
fn plain_application_id(path: &Path) -> Option<i32> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).ok()?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).ok()?;
    let id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).ok()?;
    (tables > 0).then_some(id)
}

/// Encrypts a store from before encryption, in the browser: SQLite3 Multiple Ciphers rekeys a
/// plain database in place (its rollback journal makes that one transaction).
#[cfg(target_arch = "wasm32")]
fn encrypt_in_place(path: &Path, key: &StoreKey) -> Result<()> {
    let plain = Connection::open(path)?;
    plain.execute_batch(&format!("PRAGMA rekey = \"{}\";", key.pragma()))?;
    tracing::info!("encrypted a store written before encryption");
    Ok(())
}

/// Encrypts a store written before encryption, natively: a full encrypted copy (SQLCipher's
/// `sqlcipher_export`) written beside it, made durable, then renamed over it. A crash before the
/// rename leaves the original as it was (the copy is redone); after it, the encrypted store.
#[cfg(not(target_arch = "wasm32"))]
fn encrypt_in_place(path: &Path, key: &StoreKey) -> Result<()> {
    let shown = path.display().to_string();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".encrypting");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    {
        let plain = Connection::open(path)?;
        let app_id: i32 = plain.pragma_query_value(None, "application_id", |r| r.get(0))?;
        if app_id != APPLICATION_ID {
            return Err(StoreError::Foreign { path: shown });
        }
        let version: i64 = plain.pragma_query_value(None, "user_version", |r| r.get(0))?;
        plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        plain.execute("ATTACH DATABASE ?1 AS encrypted KEY ?2", rusqlite::params![tmp.to_string_lossy(), key.pragma()])?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.execute_batch(&format!("PRAGMA encrypted.user_version = {version}; PRAGMA encrypted.application_id = {APPLICATION_ID};"))?;
        plain.execute_batch("DETACH DATABASE encrypted;")?;
    }
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| StoreError::Corrupt { path: shown.clone(), detail: e.to_string() })?;
    for ext in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(ext);
        let _ = std::fs::remove_file(std::path::PathBuf::from(side));
    }
    std::fs::rename(&tmp, path).map_err(|e| StoreError::Corrupt { path: shown.clone(), detail: e.to_string() })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    tracing::info!(path = %shown, "encrypted a store written before encryption");
    Ok(())
}
