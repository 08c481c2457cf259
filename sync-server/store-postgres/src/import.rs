//! Taking in a whole deployment read out of another backend (see `onsite_store::transfer`):
//! into an empty database only, in one transaction, so a move that fails half-way leaves
//! nothing behind and can simply be run again.

use std::collections::HashMap;

use onsite_store::transfer::{Batch, Cell, TABLES, is_plain_name};
use onsite_store::{Result, StoreError};
use tokio_postgres::types::{ToSql, Type};

use crate::error::DbError;
use crate::{PgStore, run};

/// Rows per `INSERT`: PostgreSQL takes at most 65,535 parameters in one statement.
const PARAMS_MAX: usize = 65_535;

impl PgStore {
    /// Stores every batch `rows` yields, in one transaction that holds every table locked, and
    /// commits only once the source says it is done and every table holds as many rows as the
    /// source read; returns the rows stored per table. Refused (nothing written) when any table
    /// already holds rows: merging two deployments would mix their accounts, devices and jobs.
    /// `progress` hears each table's running count.
    pub async fn import(
        &self,
        mut rows: tokio::sync::mpsc::Receiver<Batch>,
        mut progress: impl FnMut(&str, u64) + Send,
    ) -> Result<Vec<(String, u64)>> {
        run(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
            // No server or command on this database writes while the move runs.
            tx.batch_execute(&format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", names.join(", "))).await?;
            for t in &names {
                if tx.query_opt(&format!("SELECT 1 FROM {t} LIMIT 1"), &[]).await?.is_some() {
                    return Err(DbError::Store(StoreError::Conflict(format!(
                        "the database already holds a deployment ({t} has rows); a move goes into an empty one"
                    ))));
                }
            }
            let mut counts: Vec<(String, u64)> = Vec::new();
            let mut statements: HashMap<(&'static str, usize), tokio_postgres::Statement> = HashMap::new();
            let expected = loop {
                let batch = match rows.recv().await {
                    Some(Batch::Rows(b)) => b,
                    Some(Batch::End(counts)) => break counts,
                    None => {
                        return Err(DbError::Value("the source stopped before the end of its data; nothing was stored".into()));
                    }
                };
                let width = batch.columns.len();
                if width == 0 {
                    continue;
                }
                if let Some(bad) = batch.columns.iter().find(|c| !is_plain_name(c)) {
                    return Err(DbError::Value(format!("{}: {bad:?} is not a column this server knows", batch.table)));
                }
                for chunk in batch.rows.chunks((PARAMS_MAX / width).max(1)) {
                    let key = (batch.table, chunk.len());
                    let st = match statements.entry(key) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(tx.prepare(&insert_sql(batch.table, &batch.columns, chunk.len())).await?)
                        }
                    };
                    let types = st.params();
                    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(types.len());
                    for (i, cell) in chunk.iter().flatten().enumerate() {
                        params.push(
                            param(cell, &types[i])
                                .map_err(|why| DbError::Value(format!("{}.{}: {why}", batch.table, batch.columns[i % width])))?,
                        );
                    }
                    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
                    tx.execute(st, &refs).await?;
                }
                let n = batch.rows.len() as u64;
                match counts.last_mut() {
                    Some((t, c)) if t == batch.table => *c += n,
                    _ => counts.push((batch.table.to_owned(), n)),
                }
                let (t, c) = counts.last().expect("just pushed");
                progress(t, *c);
            };
            // Every table holds what the source read, or nothing is kept.
            let mut stored = Vec::new();
            for (t, read) in &expected {
                let n: i64 = tx.query_one(&format!("SELECT count(*) FROM {t}"), &[]).await?.try_get(0)?;
                if n as u64 != *read {
                    return Err(DbError::Value(format!("{t}: {read} rows read, {n} stored; nothing was kept")));
                }
                stored.push(((*t).to_owned(), *read));
            }
            // New audit entries follow the imported ones.
            tx.execute(
                "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), COALESCE((SELECT max(id) FROM audit_log), 0) + 1, false)",
                &[],
            )
            .await?;
            // The planner has no statistics on tables filled in one transaction until
            // autovacuum gets to them, and without them picks plans that scan a million rows
            // for a list of fifty. Analyzed inside the move: the statistics commit with the
            // rows, and a failure here leaves the database empty, as any other failure does.
            tx.batch_execute(&format!("ANALYZE {}", names.join(", "))).await?;
            tx.commit().await?;
            Ok(stored)
        })
        .await
    }
}

/// `INSERT INTO t (a, b) OVERRIDING SYSTEM VALUE VALUES ($1, $2), ($3, $4)…`: the audit log's
/// ids are kept as they were (its column is an identity column).
fn insert_sql(table: &str, columns: &[String], rows: usize) -> String {
    let width = columns.len();
    let values: Vec<String> =
        (0..rows).map(|r| format!("({})", (1..=width).map(|c| format!("${}", r * width + c)).collect::<Vec<_>>().join(", "))).collect();
    // Names are checked plain ([`is_plain_name`]) and quoted besides.
    let columns: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    format!("INSERT INTO {table} ({}) OVERRIDING SYSTEM VALUE VALUES {}", columns.join(", "), values.join(", "))
}

/// One value as its column's type wants it (a SQLite integer is `BIGINT`, `INTEGER` or
/// `BOOLEAN` here), or why it cannot be.
fn param(cell: &Cell, ty: &Type) -> std::result::Result<Box<dyn ToSql + Sync + Send>, String> {
    let p: Box<dyn ToSql + Sync + Send> = match (cell, ty) {
        (Cell::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Cell::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (Cell::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Cell::Null, t) if *t == Type::FLOAT8 => Box::new(None::<f64>),
        (Cell::Null, t) if *t == Type::TEXT => Box::new(None::<String>),
        (Cell::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Cell::Int(v), t) if *t == Type::INT8 => Box::new(*v),
        (Cell::Int(v), t) if *t == Type::INT4 => Box::new(i32::try_from(*v).map_err(|_| format!("{v} is too large"))?),
        (Cell::Int(v), t) if *t == Type::BOOL => Box::new(*v != 0),
        (Cell::Int(v), t) if *t == Type::FLOAT8 => Box::new(*v as f64),
        (Cell::Real(v), t) if *t == Type::FLOAT8 => Box::new(*v),
        (Cell::Text(v), t) if *t == Type::TEXT => Box::new(v.clone()),
        (Cell::Bytes(v), t) if *t == Type::BYTEA => Box::new(v.clone()),
        (cell, t) => return Err(format!("cannot store {cell:?} as {t}")),
    };
    Ok(p)
}
