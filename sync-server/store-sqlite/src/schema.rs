//! The database's schema, as the ordered list of migrations that build it.

use rusqlite_migration::{M, Migrations};

/// Every migration, oldest first. Never edit one that has shipped: add the next.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            r#"
        CREATE TABLE dispatchers (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE technicians (id TEXT PRIMARY KEY, json TEXT NOT NULL, active INTEGER NOT NULL);
        CREATE TABLE devices (
            id TEXT PRIMARY KEY, technician_id TEXT NOT NULL REFERENCES technicians (id), name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, revoked_at INTEGER
        );
        CREATE TABLE pairing_codes (
            code_hash TEXT PRIMARY KEY, technician_id TEXT NOT NULL REFERENCES technicians (id),
            expires_at INTEGER NOT NULL, used_at INTEGER
        );
        CREATE TABLE docs (
            job_id TEXT NOT NULL, kind TEXT NOT NULL, snapshot BLOB NOT NULL,
            chunk_count INTEGER NOT NULL DEFAULT 0, next_seq INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (job_id, kind)
        );
        CREATE TABLE doc_chunks (
            job_id TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
            PRIMARY KEY (job_id, kind, seq)
        );
        CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY, status TEXT NOT NULL, assignee TEXT, digest BLOB NOT NULL,
            created_at INTEGER NOT NULL, appt_start INTEGER, priority INTEGER NOT NULL, category TEXT NOT NULL,
            brand TEXT NOT NULL, model TEXT NOT NULL, customer_name TEXT NOT NULL, lat REAL, lon REAL,
            resolve_by INTEGER, conflicts INTEGER NOT NULL, updated_at INTEGER NOT NULL
        );
        CREATE INDEX jobs_by_assignee ON jobs (assignee, job_id);
        CREATE TABLE job_assignees (
            job_id TEXT NOT NULL, technician_id TEXT NOT NULL, PRIMARY KEY (job_id, technician_id)
        ) WITHOUT ROWID;
        CREATE TABLE sync_states (
            device_id TEXT NOT NULL, job_id TEXT NOT NULL, kind TEXT NOT NULL, state BLOB NOT NULL,
            PRIMARY KEY (device_id, job_id, kind)
        ) WITHOUT ROWID;
        CREATE TABLE blob_refs (hash TEXT NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY (hash, job_id)) WITHOUT ROWID;
        "#,
        ),
        // Dispatcher views: list filters, KPI facts, technicians' last positions, reference data.
        M::up(
            r#"
        ALTER TABLE jobs ADD COLUMN channel TEXT NOT NULL DEFAULT '';
        ALTER TABLE jobs ADD COLUMN appt_end INTEGER;
        ALTER TABLE jobs ADD COLUMN serial TEXT NOT NULL DEFAULT '';
        ALTER TABLE jobs ADD COLUMN arrive_by INTEGER;
        ALTER TABLE jobs ADD COLUMN first_assigned_at INTEGER;
        ALTER TABLE jobs ADD COLUMN first_on_site_at INTEGER;
        ALTER TABLE jobs ADD COLUMN completed_at INTEGER;
        ALTER TABLE jobs ADD COLUMN check_ins INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN first_time_fix INTEGER;
        ALTER TABLE jobs ADD COLUMN quote_total INTEGER;
        ALTER TABLE jobs ADD COLUMN final_total INTEGER;
        ALTER TABLE jobs ADD COLUMN rating INTEGER;
        ALTER TABLE jobs ADD COLUMN cause TEXT NOT NULL DEFAULT '';
        ALTER TABLE jobs ADD COLUMN self_service INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX jobs_by_appointment ON jobs (appt_start, job_id);
        CREATE INDEX jobs_by_status ON jobs (status, appt_start);
        CREATE INDEX jobs_by_created ON jobs (created_at);
        CREATE INDEX jobs_by_serial ON jobs (serial, created_at);
        CREATE TABLE technician_locations (
            technician_id TEXT PRIMARY KEY, lat REAL NOT NULL, lon REAL NOT NULL, at INTEGER NOT NULL
        );
        CREATE TABLE reference_data (
            kind TEXT NOT NULL, version INTEGER NOT NULL, json TEXT NOT NULL, published_at INTEGER NOT NULL,
            PRIMARY KEY (kind, version)
        );
        "#,
        ),
        // Overdue lists read open jobs by deadline.
        M::up("CREATE INDEX jobs_by_resolve_by ON jobs (resolve_by) WHERE resolve_by IS NOT NULL;"),
        // Finished jobs leave phones after a retention period. Jobs finished before this column
        // existed count from their last change.
        M::up(
            r#"
        ALTER TABLE jobs ADD COLUMN finished_at INTEGER;
        UPDATE jobs SET finished_at = updated_at WHERE status IN ('closed', 'cancelled');
        "#,
        ),
        // Devices: which one a re-paired phone took over, when each was last seen, what it had
        // still to send.
        M::up(
            r#"
        ALTER TABLE devices ADD COLUMN replaces TEXT REFERENCES devices (id);
        ALTER TABLE devices ADD COLUMN last_seen_at INTEGER;
        ALTER TABLE devices ADD COLUMN pending_jobs INTEGER;
        ALTER TABLE devices ADD COLUMN pending_blob_bytes INTEGER;
        CREATE INDEX devices_by_technician ON devices (technician_id, created_at);
        "#,
        ),
        // When each field event reached the server, and whether its date can be believed.
        M::up(
            r#"
        CREATE TABLE event_receipts (
            job_id TEXT NOT NULL, event_id TEXT NOT NULL, device_id TEXT NOT NULL,
            claimed_at INTEGER NOT NULL, received_at INTEGER NOT NULL, backdated INTEGER NOT NULL,
            PRIMARY KEY (job_id, event_id)
        ) WITHOUT ROWID;
        "#,
        ),
        // Which jobs hold a blob's bytes (uploaded or proved for them): a job reads a blob only
        // when its documents name it and it holds it. Blobs named before this existed are trusted.
        // Former assignees: when the server told a device a job is no longer its technician's,
        // and how many rounds of work it delivered since.
        M::up(
            r#"
        CREATE TABLE blob_holders (hash TEXT NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY (hash, job_id)) WITHOUT ROWID;
        INSERT INTO blob_holders (hash, job_id) SELECT hash, job_id FROM blob_refs;
        CREATE TABLE former_notices (
            device_id TEXT NOT NULL, job_id TEXT NOT NULL, noticed_at INTEGER NOT NULL, rounds INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (job_id, device_id)
        ) WITHOUT ROWID;
        "#,
        ),
        // Office accounts with roles replace the one shared dispatcher token: each former
        // dispatcher becomes an admin account keeping its token (so nothing in use stops working).
        M::up(
            r#"
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('viewer', 'dispatcher', 'admin')),
            password_hash TEXT, created_at INTEGER NOT NULL, disabled_at INTEGER
        );
        INSERT INTO accounts (id, login, name, role, created_at, disabled_at)
            SELECT id, 'dispatcher-' || lower(substr(id, -12)), name, 'admin', 0, CASE WHEN active THEN NULL ELSE 0 END FROM dispatchers;
        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts (id), name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('viewer', 'dispatcher', 'admin')),
            token_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, expires_at INTEGER,
            last_used_at INTEGER, revoked_at INTEGER
        );
        CREATE INDEX api_tokens_by_account ON api_tokens (account_id);
        INSERT INTO api_tokens (id, account_id, name, role, token_hash, created_at)
            SELECT id, id, 'token from before accounts', 'admin', token_hash, 0 FROM dispatchers;
        DROP TABLE dispatchers;
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts (id),
            created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY, at INTEGER NOT NULL, account_id TEXT, login TEXT NOT NULL, via TEXT NOT NULL,
            remote TEXT, method TEXT NOT NULL, route TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL, detail TEXT
        );
        CREATE INDEX audit_by_account ON audit_log (account_id, id);
        CREATE TABLE idempotency_keys (
            account_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, created_at INTEGER NOT NULL,
            status INTEGER, content_type TEXT, body BLOB,
            PRIMARY KEY (account_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX idempotency_by_age ON idempotency_keys (created_at);
        "#,
        ),
        // Erasure: a key to find one customer's jobs (a hash of the phone number's digits), and
        // which jobs were erased (kept apart from the index row, which every write replaces).
        M::up(
            r#"
        ALTER TABLE jobs ADD COLUMN customer_key TEXT;
        CREATE INDEX jobs_by_customer ON jobs (customer_key);
        CREATE TABLE erased_jobs (job_id TEXT PRIMARY KEY, erased_at INTEGER NOT NULL) WITHOUT ROWID;
        "#,
        ),
        // One-time chores that cannot run inside a migration's transaction (see `SqliteStore::open`).
        M::up("CREATE TABLE maintenance (name TEXT PRIMARY KEY, done_at INTEGER NOT NULL) WITHOUT ROWID;"),
        // KPIs are summed in the database: whether a job is a repeat visit (the same serial
        // serviced in the 30 days before) is kept on its row instead of probed per row at read.
        // Overdue lists read open jobs only: finished jobs, nearly all of them past their
        // deadline, are left out of the deadline index.
        M::up(
            r#"
        ALTER TABLE jobs ADD COLUMN repeat_visit INTEGER NOT NULL DEFAULT 0;
        UPDATE jobs SET repeat_visit = EXISTS (
            SELECT 1 FROM jobs p WHERE p.serial = jobs.serial AND p.created_at < jobs.created_at
                AND p.created_at >= jobs.created_at - 2592000000
        ) WHERE serial != '';
        DROP INDEX jobs_by_resolve_by;
        CREATE INDEX jobs_open_by_resolve_by ON jobs (resolve_by) WHERE status NOT IN ('completed', 'closed', 'cancelled');
        "#,
        ),
        // Lists come in appointment order (jobs without one last): an index in exactly that
        // order lets a page stop after its rows instead of sorting every match. Today's
        // completed jobs are found by status and time, not among every completed job, and a
        // technician's open jobs by technician and status, not among every job they ever had.
        M::up(
            r#"
        DROP INDEX jobs_by_appointment;
        CREATE INDEX jobs_by_appointment ON jobs (appt_start IS NULL, appt_start, job_id);
        CREATE INDEX jobs_by_completion ON jobs (status, completed_at);
        DROP INDEX jobs_by_assignee;
        CREATE INDEX jobs_by_assignee ON jobs (assignee, status, appt_start);
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
}
