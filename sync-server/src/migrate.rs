//! `onsite-server migrate`: moves an embedded deployment (a data folder's SQLite file and blob
//! files) into the PostgreSQL database and the blob storage the settings name, for a company
//! that outgrew one machine.
//!
//! Blobs go first, each checked against its hash and skipped when already there, so a move cut
//! short and run again copies only what is missing. Records then go in one transaction into
//! an empty database: a failure leaves it empty, and a database that already holds a deployment
//! is refused rather than merged; it commits only once every table holds as many rows as were
//! read. The source is
//! only read (and migrated to this build's schema, as starting the server on it would).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use onsite_store::StoreError;
use onsite_store::blobs::{BLOB_CHUNK_BYTES_MAX, BlobError, BlobStatus, BlobStore};
use onsite_store_postgres::PgStore;
use onsite_store_sqlite::SqliteStore;
use shared::BlobHash;

use crate::blobs::FsBlobStore;
use crate::settings::Settings;
use crate::{BlobBackend, S3BlobStore};

/// The upload key the move writes blobs under (no phone's upload uses it).
const UPLOAD: &str = "migrate";

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("{0} holds no embedded deployment (no onsite-server.sqlite in it)")]
    NoSource(PathBuf),
    #[error("nowhere to move to: give the PostgreSQL database as database_url (in the environment or the settings file)")]
    NoDatabase,
    #[error("reading the data folder: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("blob {hash}: {source}")]
    Blob { hash: String, source: BlobError },
    #[error("blob {0} in the data folder does not match its hash; restore it from a backup or delete it, then move again")]
    DamagedBlob(String),
}

/// What a move did.
#[derive(Debug, Default)]
pub struct Moved {
    /// Blobs copied now, and blobs the destination already held.
    pub blobs_copied: u64,
    pub blobs_present: u64,
    /// Rows per table, as read and as stored.
    pub tables: Vec<(String, u64)>,
}

/// What the move is doing, for its progress line.
#[derive(Debug)]
pub enum Step<'a> {
    Blob { done: u64, of: u64 },
    Rows { table: &'a str, rows: u64 },
}

/// Moves the deployment in `from` to where `settings` point (see the module docs).
pub async fn embedded_to(from: &Path, settings: &Settings, mut progress: impl FnMut(Step<'_>) + Send) -> Result<Moved, MoveError> {
    let db = from.join("onsite-server.sqlite");
    if !db.is_file() {
        return Err(MoveError::NoSource(from.to_owned()));
    }
    let Some(url) = &settings.database_url else { return Err(MoveError::NoDatabase) };
    let source = SqliteStore::open(&db)?;
    let target = PgStore::connect(url, settings.database_connections.into(), settings.database_ca_file.as_deref()).await?;
    let mut moved = Moved::default();

    // Blobs first: records naming a blob never arrive before it.
    let into: Option<Arc<dyn BlobStore>> = match settings.blob_backend() {
        BlobBackend::S3(s3) => {
            Some(Arc::new(S3BlobStore::connect(&s3).await.map_err(|e| MoveError::Blob { hash: String::new(), source: e })?))
        }
        // Blobs stay in files: only if the destination is another folder is there anything to copy.
        BlobBackend::Files if !same_folder(&settings.data, from) => Some(Arc::new(FsBlobStore::open(settings.data.join("blobs"))?)),
        BlobBackend::Files => None,
    };
    if let Some(into) = into {
        let blobs = from.join("blobs");
        let hashes = if blobs.is_dir() { stored_hashes(&blobs.join("objects"))? } else { Vec::new() };
        let src = FsBlobStore::open(&blobs)?;
        let of = hashes.len() as u64;
        for (i, hash) in hashes.iter().enumerate() {
            if copy_blob(&src, into.as_ref(), hash).await? {
                moved.blobs_copied += 1;
            } else {
                moved.blobs_present += 1;
            }
            progress(Step::Blob { done: i as u64 + 1, of });
        }
    }

    // Then every record, in one transaction, read in one snapshot; the import commits only
    // after the reader's end and with every table's count matching.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let reading = tokio::spawn(async move { source.export(tx).await });
    let stored = target.import(rx, |table, rows| progress(Step::Rows { table, rows })).await;
    let read = reading.await.map_err(|e| StoreError::Backend(Box::new(e)))?;
    // The reader's error explains a short import better than the writer's.
    read?;
    moved.tables = stored?;
    Ok(moved)
}

/// Copies one blob unless `into` has it; returns whether it copied. The bytes are checked
/// against their hash on the way (the destination checks again when the last piece lands).
///
/// A copy cut short (a killed move) resumes where the destination's upload stopped.
async fn copy_blob(from: &FsBlobStore, into: &dyn BlobStore, hash: &BlobHash) -> Result<bool, MoveError> {
    let blob_err = |source| MoveError::Blob { hash: hash.to_string(), source };
    let mut offset = match into.status(hash, UPLOAD).await.map_err(blob_err)? {
        BlobStatus::Complete { .. } => return Ok(false),
        BlobStatus::Partial { offset, .. } => offset,
        BlobStatus::Missing => 0,
    };
    let bytes = match from.get(hash).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(MoveError::Blob {
                hash: hash.to_string(),
                source: BlobError::Backend("listed, then gone from the data folder".into()),
            });
        }
        Err(BlobError::HashMismatch(_)) => return Err(MoveError::DamagedBlob(hash.to_string())),
        Err(e) => return Err(blob_err(e)),
    };
    if !hash.matches(&bytes) {
        return Err(MoveError::DamagedBlob(hash.to_string()));
    }
    let total = bytes.len() as u64;
    // An upload of another length under our key, or one the destination discarded: it says
    // where to start, once.
    let mut restarts = 0;
    while offset < total {
        let end = (offset as usize + BLOB_CHUNK_BYTES_MAX).min(bytes.len());
        match into.append(hash, UPLOAD, offset, total, &bytes[offset as usize..end]).await {
            Ok(_) => offset = end as u64,
            Err(BlobError::WrongOffset { expected, .. }) if restarts < 2 && expected <= total => {
                restarts += 1;
                offset = expected;
            }
            Err(e) => return Err(blob_err(e)),
        }
    }
    match into.status(hash, UPLOAD).await.map_err(blob_err)? {
        BlobStatus::Complete { .. } => Ok(true),
        other => Err(blob_err(BlobError::Backend(format!("after copying all {total} bytes the destination says {other:?}").into()))),
    }
}

/// The complete blobs under a file store's `objects/` (`ab/abcdef…`); anything else there is
/// not a blob and is left alone.
fn stored_hashes(objects: &Path) -> std::io::Result<Vec<BlobHash>> {
    let mut out = Vec::new();
    if !objects.is_dir() {
        return Ok(out);
    }
    for dir in std::fs::read_dir(objects)? {
        let dir = dir?;
        if !dir.file_type()?.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(dir.path())? {
            let f = f?;
            if let Some(hash) = f.file_name().to_str().and_then(|n| n.parse::<BlobHash>().ok()) {
                out.push(hash);
            }
        }
    }
    out.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(out)
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
