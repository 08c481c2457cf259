//! Inspection of an Automerge sync message from an untrusted device, before Automerge acts on it.
//!
//! Automerge trusts what it parses: a Bloom filter's probe count sizes an allocation, a compressed
//! change is inflated without a bound before its checksum is checked, and a run-length-encoded
//! column can claim billions of operations in a few bytes. Any of these aborts or stalls the
//! process that applies the message. This module walks the message's structure with the cost of
//! every claim bounded by the bytes that carry it, so a message that passes costs Automerge at most
//! [`GuardLimits`] worth of work.
//!
//! It checks only what can be checked without the document (sizes, counts, encodings). What the
//! changes *mean* is checked after they are applied to a fork (see [`crate::rules`]).

use std::io::Read;

use automerge::sync::{Message, MessageVersion};

/// Bounds for one sync message from a device. The defaults are far above what an honest phone
/// sends (a field edit is tens of operations; a job's whole field document a few thousand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardLimits {
    /// Change chunks in one message.
    pub changes_max: usize,
    /// Operations in one change.
    pub change_ops_max: u64,
    /// Operations in all changes of one message.
    pub message_ops_max: u64,
    /// One change after decompression.
    pub change_bytes_max: usize,
    /// All changes of one message after decompression.
    pub message_inflated_bytes_max: usize,
    /// Heads, needed hashes, dependencies of a change: hashes in one list.
    pub hashes_max: usize,
    /// `have` entries (Automerge sends one).
    pub haves_max: usize,
    /// Bloom filter probes per hash (Automerge uses 7).
    pub bloom_probes_max: u32,
    /// Bloom filter bits per entry (Automerge uses 10).
    pub bloom_bits_per_entry_max: u32,
    /// Actors named by one change (its own plus others it refers to).
    pub actors_max: usize,
    /// Columns in one change (Automerge writes at most 14).
    pub columns_max: usize,
    /// A document after the message's changes, as saved: phones refuse larger ones, so one stored
    /// on the server would fail every phone that holds or receives the job.
    pub document_bytes_max: usize,
    /// Operations in a document after the message's changes (what every later load pays for,
    /// however well they compress).
    pub document_ops_max: u64,
}

impl Default for GuardLimits {
    fn default() -> Self {
        Self {
            // A phone long offline sends every change of a job in one message; bytes and operations
            // bound the cost, this only the per-change overhead.
            changes_max: 20_000,
            change_ops_max: 50_000,
            message_ops_max: 200_000,
            change_bytes_max: 2 * 1024 * 1024,
            message_inflated_bytes_max: 8 * 1024 * 1024,
            hashes_max: 1_000,
            haves_max: 4,
            bloom_probes_max: 32,
            bloom_bits_per_entry_max: 64,
            actors_max: 64,
            columns_max: 32,
            document_bytes_max: crate::docs::DOC_BYTES_MAX,
            document_ops_max: 300_000,
        }
    }
}

/// Why a message was not let through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("not an Automerge sync message: {0}")]
    Malformed(String),
    #[error("{what}: {count} is over the limit of {max}")]
    TooMany { what: &'static str, count: u64, max: u64 },
    #[error("a device may only send changes; chunk type {0} refused")]
    ChunkType(u8),
    #[error("whole-document (v2) sync messages are not accepted from devices")]
    WholeDocument,
}

impl GuardError {
    /// Whether the message was well formed but over a limit (as opposed to malformed).
    pub fn is_limit(&self) -> bool {
        matches!(self, GuardError::TooMany { .. })
    }
}

/// What a message that passed costs to apply, and who made its changes: checked by the caller
/// before Automerge applies anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageCost {
    pub changes: usize,
    pub ops: u64,
    pub inflated_bytes: usize,
    /// The distinct actors of the changes.
    pub actors: Vec<automerge::ActorId>,
    /// The highest operation counter any change claims (`start_op + ops - 1`): a change that
    /// jumps the counter towards its 32-bit limit would break the document for every later edit.
    pub max_op: u64,
}

/// Decodes and inspects a device's sync message; returns it only when applying it is bounded.
pub fn inspect(bytes: &[u8], limits: &GuardLimits) -> Result<(Message, MessageCost), GuardError> {
    // Parsing itself is bounded by the input: Automerge's decoder grows its lists as it reads.
    let msg = Message::decode(bytes).map_err(|e| GuardError::Malformed(e.to_string()))?;
    if msg.version == MessageVersion::V2 {
        return Err(GuardError::WholeDocument);
    }
    count("heads", msg.heads.len(), limits.hashes_max)?;
    count("needed hashes", msg.need.len(), limits.hashes_max)?;
    count("have entries", msg.have.len(), limits.haves_max)?;
    for have in &msg.have {
        count("last-sync hashes", have.last_sync.len(), limits.hashes_max)?;
        check_bloom(&have.bloom.to_bytes(), limits)?;
    }
    count("changes", msg.changes.len(), limits.changes_max)?;
    let mut cost = MessageCost { changes: msg.changes.len(), ..MessageCost::default() };
    for chunk in msg.changes.iter() {
        let (change, inflated) = check_chunk(chunk, limits)?;
        cost.ops += change.ops;
        cost.inflated_bytes += inflated;
        cost.max_op = cost.max_op.max(change.start_op.saturating_add(change.ops.saturating_sub(1)));
        if !cost.actors.contains(&change.actor) {
            cost.actors.push(change.actor);
        }
        count("operations in the message", cost.ops, limits.message_ops_max)?;
        count("bytes of changes after decompression", cost.inflated_bytes, limits.message_inflated_bytes_max)?;
    }
    Ok((msg, cost))
}

fn count<N: TryInto<u64>, M: TryInto<u64>>(what: &'static str, n: N, max: M) -> Result<(), GuardError> {
    let (n, max) = (n.try_into().unwrap_or(u64::MAX), max.try_into().unwrap_or(u64::MAX));
    if n > max { Err(GuardError::TooMany { what, count: n, max }) } else { Ok(()) }
}

/// A Bloom filter as Automerge encodes it: entries, bits per entry, probes, then the bits.
fn check_bloom(bytes: &[u8], limits: &GuardLimits) -> Result<(), GuardError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut r = Reader(bytes);
    let entries = r.uleb("bloom entries")?;
    let bits_per_entry = r.uleb("bloom bits per entry")?;
    let probes = r.uleb("bloom probes")?;
    if entries == 0 {
        return Ok(());
    }
    count("bloom filter probes", probes, limits.bloom_probes_max)?;
    count("bloom filter bits per entry", bits_per_entry, limits.bloom_bits_per_entry_max)?;
    // Automerge divides by the bit count: an empty bit array is a division by zero.
    if probes == 0 || bits_per_entry == 0 || r.0.is_empty() {
        return Err(GuardError::Malformed("bloom filter without bits or probes".into()));
    }
    Ok(())
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_CHANGE: u8 = 1;
const CHUNK_COMPRESSED_CHANGE: u8 = 2;

/// What the guard reads of one change.
struct ChangeFacts {
    actor: automerge::ActorId,
    start_op: u64,
    ops: u64,
}

/// One chunk of the message's change list: what it says of itself, and its decompressed size.
fn check_chunk(chunk: &[u8], limits: &GuardLimits) -> Result<(ChangeFacts, usize), GuardError> {
    let mut r = Reader(chunk);
    if r.take(4, "chunk magic")? != MAGIC {
        return Err(GuardError::Malformed("change chunk without Automerge's magic bytes".into()));
    }
    r.take(4, "chunk checksum")?;
    let kind = r.take(1, "chunk type")?[0];
    let len = r.uleb("chunk length")?;
    if len != r.0.len() as u64 {
        return Err(GuardError::Malformed(format!("chunk says {len} bytes but carries {}", r.0.len())));
    }
    match kind {
        CHUNK_CHANGE => {
            count("bytes in one change", r.0.len(), limits.change_bytes_max)?;
            Ok((change_ops(r.0, limits)?, r.0.len()))
        }
        CHUNK_COMPRESSED_CHANGE => {
            let body = inflate(r.0, limits.change_bytes_max)?;
            Ok((change_ops(&body, limits)?, body.len()))
        }
        other => Err(GuardError::ChunkType(other)),
    }
}

/// DEFLATE with a ceiling: reading stops one byte past `max` (a 1 KB bomb costs `max`, not GBs).
fn inflate(compressed: &[u8], max: usize) -> Result<Vec<u8>, GuardError> {
    let mut out = Vec::new();
    flate2::bufread::DeflateDecoder::new(compressed)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| GuardError::Malformed(format!("compressed change does not inflate: {e}")))?;
    count("bytes in one change after decompression", out.len(), max)?;
    Ok(out)
}

/// Walks a change's header and counts the rows of every operation column without expanding runs.
fn change_ops(body: &[u8], limits: &GuardLimits) -> Result<ChangeFacts, GuardError> {
    let mut r = Reader(body);
    let deps = r.uleb("dependency count")?;
    count("dependencies of a change", deps, limits.hashes_max)?;
    r.take(usize::try_from(deps).unwrap_or(usize::MAX).saturating_mul(32), "dependencies")?;
    let actor = automerge::ActorId::from(r.bytes("actor")?);
    r.uleb("seq")?;
    let start_op = r.uleb("start op")?;
    r.sleb("time")?;
    r.bytes("message")?;
    let others = r.uleb("other actors")?;
    count("actors of a change", others.saturating_add(1), limits.actors_max)?;
    for _ in 0..others {
        r.bytes("other actor")?;
    }
    let ncols = r.uleb("column count")?;
    count("columns of a change", ncols, limits.columns_max)?;
    let mut cols = Vec::new();
    for _ in 0..ncols {
        let spec = r.uleb("column spec")?;
        let len = r.uleb("column length")?;
        cols.push((spec, usize::try_from(len).unwrap_or(usize::MAX)));
    }
    let mut ops = 0;
    for (spec, len) in cols {
        let data = r.take(len, "column data")?;
        if spec & 0b1000 != 0 {
            return Err(GuardError::Malformed("compressed columns in a change".into()));
        }
        let rows = column_rows(spec as u8 & 0b111, data, limits.change_ops_max)?;
        ops = ops.max(rows);
    }
    Ok(ChangeFacts { actor, start_op, ops })
}

/// Rows a column encodes, refusing past `max` before counting further.
fn column_rows(col_type: u8, data: &[u8], max: u64) -> Result<u64, GuardError> {
    const BOOLEAN: u8 = 4;
    const VALUE: u8 = 7;
    const DELTA: u8 = 3;
    const STRING: u8 = 5;
    let mut r = Reader(data);
    let mut rows: u64 = 0;
    let mut add = |n: u64| -> Result<(), GuardError> {
        rows = rows.saturating_add(n);
        count("operations in one change", rows, max)
    };
    match col_type {
        // Raw values: their count follows the metadata column, which is counted itself.
        VALUE => {}
        // Alternating run lengths of false and true.
        BOOLEAN => {
            while !r.0.is_empty() {
                add(r.uleb("boolean run")?)?;
            }
        }
        // Run-length encoded: a positive count repeats one value, a negative one precedes that
        // many literal values, zero precedes a count of nulls.
        _ => {
            let value = |r: &mut Reader<'_>| -> Result<(), GuardError> {
                match col_type {
                    DELTA => r.sleb("value").map(drop),
                    STRING => r.bytes("string value").map(drop),
                    _ => r.uleb("value").map(drop),
                }
            };
            while !r.0.is_empty() {
                let n = r.sleb("run length")?;
                if n > 0 {
                    add(n as u64)?;
                    value(&mut r)?;
                } else if n < 0 {
                    let literals = n.unsigned_abs();
                    add(literals)?;
                    for _ in 0..literals {
                        value(&mut r)?;
                    }
                } else {
                    add(r.uleb("null run")?)?;
                }
            }
        }
    }
    Ok(rows)
}

/// A cursor over bytes whose every read is checked against what is left.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], GuardError> {
        if n > self.0.len() {
            return Err(GuardError::Malformed(format!("{what}: {n} bytes claimed, {} left", self.0.len())));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn uleb(&mut self, what: &str) -> Result<u64, GuardError> {
        leb128::read::unsigned(&mut self.0).map_err(|e| GuardError::Malformed(format!("{what}: {e}")))
    }

    fn sleb(&mut self, what: &str) -> Result<i64, GuardError> {
        leb128::read::signed(&mut self.0).map_err(|e| GuardError::Malformed(format!("{what}: {e}")))
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], GuardError> {
        let n = self.uleb(what)?;
        self.take(usize::try_from(n).unwrap_or(usize::MAX), what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::{ChunkList, SyncDoc};
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn limits() -> GuardLimits {
        GuardLimits::default()
    }

    /// A real message from a document with `n` changes of `ops` operations each.
    fn honest_message(n: usize, text: &str) -> Vec<u8> {
        let mut doc = AutoCommit::new();
        for i in 0..n {
            doc.put(ROOT, format!("k{i}"), text).unwrap();
            doc.commit();
        }
        let mut peer = AutoCommit::new();
        let (mut a, mut b) = (automerge::sync::State::new(), automerge::sync::State::new());
        // Run the protocol until `doc` sends its changes.
        for _ in 0..4 {
            // Without the peer's capability flags Automerge sends changes, never a whole document,
            // as the server arranges for devices.
            if let Some(mut m) = peer.sync().generate_sync_message(&mut b) {
                m.flags = None;
                doc.sync().receive_sync_message(&mut a, m).unwrap();
            }
            if let Some(m) = doc.sync().generate_sync_message(&mut a) {
                if !m.changes.is_empty() {
                    return m.encode();
                }
                peer.sync().receive_sync_message(&mut b, m).unwrap();
            }
        }
        panic!("no changes sent");
    }

    #[test]
    fn honest_messages_pass_and_are_costed() {
        let (msg, cost) = inspect(&honest_message(5, "hello"), &limits()).unwrap();
        assert_eq!(msg.changes.len(), 5);
        assert_eq!(cost.ops, 5, "each change puts one key");
        // A long value is stored compressed by Automerge: it still passes.
        let long = "洗衣机不排水 ".repeat(400);
        let (_, cost) = inspect(&honest_message(3, &long), &limits()).unwrap();
        assert_eq!(cost.changes, 3);
    }

    fn message_with(have: Vec<automerge::sync::Have>, changes: Vec<Vec<u8>>) -> Vec<u8> {
        Message { heads: vec![], need: vec![], have, changes: ChunkList::from(changes), flags: None, version: MessageVersion::V1 }.encode()
    }

    #[test]
    fn a_bloom_filter_claiming_billions_of_probes_is_refused() {
        // 3 entries, 10 bits each, u32::MAX probes, 4 bytes of bits: Automerge would reserve 16 GiB.
        let mut bloom = Vec::new();
        for v in [3u64, 10, u32::MAX as u64] {
            leb128::write::unsigned(&mut bloom, v).unwrap();
        }
        bloom.extend([0xff; 4]);
        let bloom = automerge::sync::BloomFilter::try_from(bloom.as_slice()).unwrap();
        let bytes = message_with(vec![automerge::sync::Have { last_sync: vec![], bloom }], vec![]);
        assert!(bytes.len() < 64, "a tiny message: {} bytes", bytes.len());
        let err = inspect(&bytes, &limits()).unwrap_err();
        assert!(matches!(err, GuardError::TooMany { what: "bloom filter probes", .. }), "{err}");
    }

    fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut c = MAGIC.to_vec();
        c.extend([0; 4]);
        c.push(kind);
        leb128::write::unsigned(&mut c, body.len() as u64).unwrap();
        c.extend(body);
        c
    }

    #[test]
    fn a_compressed_change_that_inflates_past_the_limit_is_refused_without_inflating_it_all() {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &vec![0u8; 64 * 1024 * 1024]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 100 * 1024);
        let err = inspect(&message_with(vec![], vec![chunk(CHUNK_COMPRESSED_CHANGE, &bomb)]), &limits()).unwrap_err();
        assert!(matches!(err, GuardError::TooMany { what: "bytes in one change after decompression", .. }), "{err}");
    }

    /// A change body whose action column claims `rows` operations in a few bytes.
    fn rle_bomb(rows: i64) -> Vec<u8> {
        let mut b = Vec::new();
        leb128::write::unsigned(&mut b, 0).unwrap(); // deps
        leb128::write::unsigned(&mut b, 16).unwrap(); // actor
        b.extend([7; 16]);
        for v in [1u64, 1] {
            leb128::write::unsigned(&mut b, v).unwrap(); // seq, start op
        }
        leb128::write::signed(&mut b, 0).unwrap(); // time
        leb128::write::unsigned(&mut b, 0).unwrap(); // message
        leb128::write::unsigned(&mut b, 0).unwrap(); // other actors
        let mut col = Vec::new();
        leb128::write::signed(&mut col, rows).unwrap();
        leb128::write::unsigned(&mut col, 1).unwrap(); // the repeated action
        leb128::write::unsigned(&mut b, 1).unwrap(); // one column
        leb128::write::unsigned(&mut b, (4 << 4) | 2).unwrap(); // action: integer column
        leb128::write::unsigned(&mut b, col.len() as u64).unwrap();
        b.extend(col);
        b
    }

    #[test]
    fn a_run_claiming_billions_of_operations_is_refused() {
        let err = inspect(&message_with(vec![], vec![chunk(CHUNK_CHANGE, &rle_bomb(1 << 40))]), &limits()).unwrap_err();
        assert!(matches!(err, GuardError::TooMany { what: "operations in one change", .. }), "{err}");
        // Within the limit, the same shape is counted, not refused.
        let (_, cost) = inspect(&message_with(vec![], vec![chunk(CHUNK_CHANGE, &rle_bomb(100))]), &limits()).unwrap();
        assert_eq!(cost.ops, 100);
        // Many changes each under the limit still meet the message's budget.
        let many = vec![chunk(CHUNK_CHANGE, &rle_bomb(40_000)); 6];
        let err = inspect(&message_with(vec![], many), &limits()).unwrap_err();
        assert!(matches!(err, GuardError::TooMany { what: "operations in the message", .. }), "{err}");
    }

    #[test]
    fn documents_and_whole_document_messages_are_refused() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "k", "v").unwrap();
        let saved = doc.save();
        let err = inspect(&message_with(vec![], vec![saved]), &limits()).unwrap_err();
        assert_eq!(err, GuardError::ChunkType(0));
        let v2 =
            Message { heads: vec![], need: vec![], have: vec![], changes: ChunkList::empty(), flags: None, version: MessageVersion::V2 };
        assert_eq!(inspect(&v2.encode(), &limits()).unwrap_err(), GuardError::WholeDocument);
    }

    #[test]
    fn truncated_and_garbage_input_is_malformed_never_a_panic() {
        let good = honest_message(2, "x");
        for cut in 0..good.len() {
            let _ = inspect(&good[..cut], &limits());
        }
        assert!(matches!(inspect(b"\x42\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", &limits()), Err(GuardError::Malformed(_))));
    }
}
