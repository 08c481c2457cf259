//! Which backends the harness's servers run on. By default the embedded ones (SQLite in the data
//! folder, blobs as files); the test command's second pass sets `ONSITE_TEST_POSTGRES` (a
//! throwaway cluster) and `ONSITE_TEST_S3_ENDPOINT` (moto), and every server then keeps its
//! records in a database of its own and its blobs under a bucket prefix of its own: the same
//! end-to-end tests against the scaled-out backends.

use std::path::Path;

use onsite_server::StoreBackend;

/// The cluster of this run's PostgreSQL pass (`host=… port=… user=…`), if it is one.
pub fn postgres() -> Option<String> {
    std::env::var("ONSITE_TEST_POSTGRES").ok().filter(|e| !e.is_empty())
}

/// A name derived from the data folder: the same for the same folder, so a restarted server
/// finds its records (and blobs) again.
pub fn name_for(data: &Path) -> String {
    shared::BlobHash::of(data.as_os_str().as_encoded_bytes()).as_str()[..16].to_owned()
}

/// Where a test server with its data folder at `data` keeps its records; makes its database
/// on the cluster when there is one.
pub async fn store_for(data: &Path) -> StoreBackend {
    let Some(cluster) = postgres() else { return StoreBackend::Embedded };
    let database = format!("onsite_{}", name_for(data));
    let (client, connection) = tokio_postgres::connect(&format!("{cluster} dbname=postgres"), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("the test cluster at {cluster:?} answers: {e}"));
    tokio::spawn(connection);
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database]).await.unwrap().is_some();
    if !exists {
        client.batch_execute(&format!("CREATE DATABASE {database}")).await.unwrap();
    }
    // Few per test server (many run at once); the load generator asks for more.
    let connections = std::env::var("ONSITE_TEST_POSTGRES_CONNECTIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(4);
    StoreBackend::Postgres { url: format!("{cluster} dbname={database}"), connections, ca_file: None }
}

/// Runs `sql` (written to mean the same on SQLite and PostgreSQL) on the records of the server
/// whose data folder is `data`, while it is stopped or between requests, and returns the first
/// column of the first row as an integer when there is one: how tests reach past the API.
pub async fn sql(data: &Path, sql: &str) -> Option<i64> {
    match store_for(data).await {
        StoreBackend::Embedded => {
            let db = rusqlite::Connection::open(data.join("onsite-server.sqlite")).unwrap();
            let mut stmt = db.prepare(sql).unwrap();
            let n = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            rows.next().unwrap().and_then(|r| if n > 0 { r.get::<_, i64>(0).ok() } else { None })
        }
        StoreBackend::Postgres { url, .. } => {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            let rows = client.query(sql, &[]).await.unwrap();
            rows.first().and_then(|r| r.try_get::<_, i64>(0).ok())
        }
    }
}

/// The environment that puts the server binary, run on the data folder `data`, on this pass's
/// backends (nothing for the embedded ones).
pub async fn server_env(data: &Path) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let StoreBackend::Postgres { url, connections, .. } = store_for(data).await {
        env.extend([("ONSITE_DATABASE_URL", url), ("ONSITE_DATABASE_CONNECTIONS", connections.to_string())]);
    }
    if let onsite_server::BlobBackend::S3(s3) = crate::s3::backend_for(data) {
        crate::s3::make_bucket(s3.endpoint.as_deref().unwrap_or_default(), &s3.bucket).await;
        env.extend([
            ("ONSITE_S3_BUCKET", s3.bucket),
            ("ONSITE_S3_ENDPOINT", s3.endpoint.unwrap_or_default()),
            ("ONSITE_S3_PREFIX", s3.prefix),
            ("ONSITE_S3_ACCESS_KEY_ID", s3.access_key_id.unwrap_or_default()),
            ("ONSITE_S3_SECRET_ACCESS_KEY", s3.secret_access_key.unwrap_or_default()),
        ]);
    }
    env
}

/// Every file under `dir` that contains `needle` (the raw bytes, as an attacker with the disk
/// would read them).
pub fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// Where the server whose data folder is `data` keeps `needle`: on the embedded backends, the
/// files of the data folder that hold its bytes (database, its log, blobs); on PostgreSQL, the
/// table columns (text or bytes, every row) that hold it. PostgreSQL's own files keep replaced
/// row versions and its write-ahead log until it reuses their space, which no query controls:
/// there the promise (and this check) is that no row of any table holds it.
pub async fn places_holding(data: &Path, needle: &str) -> Vec<String> {
    let StoreBackend::Postgres { url, .. } = store_for(data).await else { return files_holding(data, needle) };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let columns = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = 'public' AND data_type IN ('text', 'bytea')",
            &[],
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for c in &columns {
        let (table, column, kind): (String, String, String) = (c.get(0), c.get(1), c.get(2));
        let test = if kind == "bytea" {
            format!("position(convert_to($1, 'UTF8') IN \"{column}\") > 0")
        } else {
            format!("strpos(\"{column}\", $1) > 0")
        };
        let n: i64 = client.query_one(&format!("SELECT count(*) FROM \"{table}\" WHERE {test}"), &[&needle]).await.unwrap().get(0);
        if n > 0 {
            out.push(format!("{table}.{column} ({n} rows)"));
        }
    }
    if let Some(blobs) = crate::s3::blob_keys_holding(data, needle).await {
        out.extend(blobs);
    }
    out
}
