//! The local database schema, as forward-only migrations (version kept in `user_version`).

use rusqlite_migration::{M, Migrations};

/// `PRAGMA application_id` of an OnSite store ("OnSt"), so a foreign SQLite file is recognised
/// and refused instead of being migrated into.
pub const APPLICATION_ID: i32 = 0x4f6e_5374;

pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            r#"
        -- Automerge documents: a snapshot plus the incremental change chunks written since.
        CREATE TABLE docs (
            job_id      TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('dispatch', 'field')),
            snapshot    BLOB NOT NULL,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            chunk_bytes INTEGER NOT NULL DEFAULT 0,
            next_seq    INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (job_id, kind)
        );
        CREATE TABLE doc_chunks (
            job_id TEXT NOT NULL,
            kind   TEXT NOT NULL,
            seq    INTEGER NOT NULL,
            bytes  BLOB NOT NULL,
            PRIMARY KEY (job_id, kind, seq)
        );

        -- One row per job for fast lists; rewritten in the same transaction as its documents.
        CREATE TABLE jobs (
            job_id        TEXT PRIMARY KEY,
            status        TEXT NOT NULL,
            priority      INTEGER NOT NULL,
            appt_start    INTEGER,
            appt_end      INTEGER,
            customer_name TEXT NOT NULL,
            phone         TEXT NOT NULL,
            address       TEXT NOT NULL,
            lat           REAL,
            lon           REAL,
            category      TEXT NOT NULL,
            brand         TEXT NOT NULL,
            model         TEXT NOT NULL,
            serial        TEXT NOT NULL,
            problem       TEXT NOT NULL,
            arrive_by     INTEGER,
            resolve_by    INTEGER,
            conflicts     INTEGER NOT NULL,
            updated_at    INTEGER NOT NULL
        );
        CREATE INDEX jobs_by_appointment ON jobs (appt_start);
        CREATE INDEX jobs_by_serial ON jobs (serial);

        -- Photos, thumbnails, signature renderings: content-addressed, with upload progress.
        CREATE TABLE blobs (
            hash       TEXT PRIMARY KEY,
            job_id     TEXT NOT NULL,
            mime       TEXT NOT NULL,
            bytes      BLOB NOT NULL,
            size       INTEGER NOT NULL,
            uploaded   INTEGER NOT NULL DEFAULT 0,
            state      TEXT NOT NULL CHECK (state IN ('pending', 'uploaded')),
            created_at INTEGER NOT NULL
        );
        CREATE INDEX blobs_pending ON blobs (state) WHERE state = 'pending';

        -- Automerge sync state per document and peer, so an interrupted exchange resumes.
        CREATE TABLE sync_states (
            job_id TEXT NOT NULL,
            kind   TEXT NOT NULL,
            state  BLOB NOT NULL,
            PRIMARY KEY (job_id, kind)
        );

        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        -- Reference data (replaced wholesale per published version).
        CREATE TABLE parts (
            part_no     TEXT PRIMARY KEY,
            name_en     TEXT NOT NULL,
            name_zh     TEXT NOT NULL,
            category    TEXT NOT NULL,
            brands      TEXT NOT NULL,
            models      TEXT NOT NULL,
            barcode     TEXT NOT NULL,
            price_minor INTEGER NOT NULL
        );
        CREATE INDEX parts_by_barcode ON parts (barcode);
        CREATE TABLE prices (
            code             TEXT PRIMARY KEY,
            kind             TEXT NOT NULL,
            name_en          TEXT NOT NULL,
            name_zh          TEXT NOT NULL,
            category         TEXT,
            unit_price_minor INTEGER NOT NULL
        );
        CREATE TABLE van_stock (
            part_no      TEXT PRIMARY KEY,
            quantity     INTEGER NOT NULL CHECK (quantity >= 0),
            min_quantity INTEGER NOT NULL,
            used_today   INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE kb_articles (
            id       TEXT PRIMARY KEY,
            category TEXT NOT NULL,
            json     TEXT NOT NULL
        );
        -- CJK text is indexed one character per token (see `kb::segment`), so a two-character
        -- word like 漏水 matches as a phrase inside 洗衣机漏水.
        CREATE VIRTUAL TABLE kb_fts USING fts5 (
            article_id UNINDEXED,
            text,
            tokenize = 'unicode61 remove_diacritics 2'
        );
        "#,
        ),
        // Sync bookkeeping: the digest of both documents' heads (what the server compares), the
        // digest of the field document's heads, and the field digest the server last confirmed
        // holding. A job whose field digest differs from the confirmed one has unsent work.
        M::up(
            r#"
        ALTER TABLE jobs ADD COLUMN digest BLOB;
        ALTER TABLE jobs ADD COLUMN field_digest BLOB;
        ALTER TABLE jobs ADD COLUMN confirmed_field_digest BLOB;
        "#,
        ),
        // Blobs a job's documents name that this device does not hold yet (the customer's photos):
        // kept in step with the documents, emptied as downloads land.
        M::up(
            r#"
        CREATE TABLE blob_wants (
            hash TEXT PRIMARY KEY,
            job_id TEXT NOT NULL
        );
        "#,
        ),
        // What left the van (positive) or went back (negative), when and for which job: "used
        // today" is counted from here for the technician's own day, instead of a counter nothing
        // resets at midnight.
        M::up(
            r#"
        CREATE TABLE van_stock_moves (
            id       INTEGER PRIMARY KEY,
            part_no  TEXT NOT NULL,
            job_id   TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity != 0),
            at       INTEGER NOT NULL
        );
        CREATE INDEX van_stock_moves_by_part ON van_stock_moves (part_no, at);
        ALTER TABLE van_stock DROP COLUMN used_today;
        "#,
        ),
        // When the server told this phone the job went to someone else (or closed long ago): the
        // phone still delivers what was done before, and takes no new work on it.
        M::up("ALTER TABLE jobs ADD COLUMN left_at INTEGER;"),
        // What the last sync could not do for each job (refused changes, unsent photos, a job
        // this phone could not take), shown on that job until a sync succeeds for it.
        M::up(
            r#"
        CREATE TABLE job_problems (
            job_id  TEXT NOT NULL,
            problem TEXT NOT NULL,
            at      INTEGER NOT NULL
        );
        CREATE INDEX job_problems_by_job ON job_problems (job_id);
        "#,
        ),
        // Each job's documents as last read (see `view_cache`), rewritten with them.
        M::up(
            r#"
        CREATE TABLE job_views (
            job_id TEXT PRIMARY KEY,
            view   BLOB NOT NULL
        );
        "#,
        ),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }

    #[test]
    fn a_van_stocked_before_the_usage_record_keeps_its_parts() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        let m = super::migrations();
        m.to_version(&mut c, 3).unwrap();
        c.execute("INSERT INTO van_stock (part_no, quantity, min_quantity, used_today) VALUES ('WM-PUMP-01', 4, 1, 2)", []).unwrap();
        m.to_latest(&mut c).unwrap();
        let row: (String, u32, u32) =
            c.query_row("SELECT part_no, quantity, min_quantity FROM van_stock", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        assert_eq!(row, ("WM-PUMP-01".into(), 4, 1));
    }
}
