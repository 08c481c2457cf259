//! Reading the whole database out, table by table, for a move to another backend (see
//! `onsite_store::transfer`).

use onsite_store::transfer::{BATCH_BYTES, BATCH_ROWS, Batch, Cell, Rows, TABLES};
use onsite_store::{Result, StoreError};
use rusqlite::types::ValueRef;

use crate::SqliteStore;
use crate::error::DbError;

impl SqliteStore {
    /// Sends every table's rows to `out`, in [`TABLES`] order and batches of at most
    /// [`BATCH_ROWS`] rows and [`BATCH_BYTES`] bytes, all read in one snapshot (one read
    /// transaction: a consistent copy even if something still wrote), then [`Batch::End`] with
    /// the rows read per table. Stops early when the receiver hangs up (it failed, and says why).
    pub async fn export(&self, out: tokio::sync::mpsc::Sender<Batch>) -> Result<Vec<(&'static str, u64)>> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let mut counts = Vec::new();
            for t in TABLES {
                let mut stmt = tx.prepare(&format!("SELECT * FROM {} ORDER BY {}", t.name, t.order_by))?;
                let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
                let mut rows = stmt.query([])?;
                let (mut batch, mut bytes, mut count) = (Vec::with_capacity(BATCH_ROWS), 0usize, 0u64);
                while let Some(r) = rows.next()? {
                    let mut row = Vec::with_capacity(columns.len());
                    for (i, column) in columns.iter().enumerate() {
                        row.push(match r.get_ref(i)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(v) => Cell::Int(v),
                            ValueRef::Real(v) => Cell::Real(v),
                            ValueRef::Text(b) => Cell::Text(String::from_utf8(b.to_vec()).map_err(|_| {
                                DbError::Store(StoreError::Backend(format!("{}.{column} holds text that is not UTF-8", t.name).into()))
                            })?),
                            ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                        });
                    }
                    bytes += row.iter().map(Cell::size).sum::<usize>();
                    batch.push(row);
                    count += 1;
                    if batch.len() == BATCH_ROWS || bytes >= BATCH_BYTES {
                        let rows = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                        bytes = 0;
                        if out.blocking_send(Batch::Rows(Rows { table: t.name, columns: columns.clone(), rows })).is_err() {
                            return Ok(counts);
                        }
                    }
                }
                if !batch.is_empty() && out.blocking_send(Batch::Rows(Rows { table: t.name, columns, rows: batch })).is_err() {
                    return Ok(counts);
                }
                counts.push((t.name, count));
            }
            let _ = out.blocking_send(Batch::End(counts.clone()));
            Ok(counts)
        })
        .await
    }
}
