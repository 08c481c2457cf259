//! The local store against real SQLite files: domain operations, crash safety, refusal of bad
//! files, knowledge-base search, blobs and stock.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use onsite_app::demo::{DEMO_UTC_OFFSET_MIN, seed};
use onsite_app::store::{BlobState, ReadyPhoto, Store, StoreError, TodayQuery};
use shared::edit::{EditError, FieldEdit};
use shared::model::{Category, FieldAction, PhotoKind};
use shared::status::{Status, derive};
use shared::{BlobHash, JobId, Timestamp};

fn seeded() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let mut store = Store::open(&path).unwrap();
    assert!(seed(&mut store, "li", Timestamp::now()).unwrap() > 0);
    (dir, path, store)
}

/// An open job on the list that the technician can still edit.
fn open_job(store: &Store) -> JobId {
    store
        .list_all()
        .unwrap()
        .into_iter()
        .find(|j| matches!(j.status, Status::Assigned | Status::Accepted | Status::EnRoute | Status::InProgress))
        .expect("demo has an open job")
        .job_id
}

fn note(text: &str) -> FieldEdit {
    FieldEdit::AddNote { text: text.into() }
}

#[test]
fn edits_persist_and_the_index_follows_the_documents() {
    let (_dir, path, mut store) = seeded();
    let job = store.list_all().unwrap().into_iter().find(|j| j.status == Status::Assigned).unwrap().job_id;
    store.apply_edit(job, FieldEdit::Status { action: FieldAction::Accept, location: None, reason: String::new() }).unwrap();
    store.apply_edit(job, note("客户要求下午三点后到 / after 3 pm please")).unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    let view = store.open_job(job).unwrap();
    assert_eq!(view.derived.status, Status::Accepted);
    assert_eq!(view.field.notes.len(), 1);
    let row = store.list_all().unwrap().into_iter().find(|j| j.job_id == job).unwrap();
    assert_eq!(row.status, Status::Accepted);
}

#[test]
fn todays_list_holds_today_and_unfinished_earlier_jobs() {
    let (_dir, _path, store) = seeded();
    let now = Timestamp::now();
    let day_start = now.start_of_local_day(DEMO_UTC_OFFSET_MIN);
    let today = store.list_today(TodayQuery { day_start }).unwrap();
    assert!(!today.is_empty());
    for j in &today {
        let start = j.appointment.unwrap().start;
        let is_today = start >= day_start && start.0 < day_start.0 + Timestamp::DAY;
        assert!(is_today || (start < day_start && j.status.is_open()), "{j:?}");
    }
    let starts: Vec<_> = today.iter().map(|j| j.appointment.unwrap().start).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "ordered by appointment");
}

#[test]
fn a_refused_edit_changes_nothing() {
    let (_dir, _path, mut store) = seeded();
    let job = store.list_all().unwrap().into_iter().find(|j| j.status == Status::Assigned).unwrap().job_id;
    let before = store.open_job(job).unwrap();
    let err =
        store.apply_edit(job, FieldEdit::Status { action: FieldAction::Complete, location: None, reason: String::new() }).unwrap_err();
    assert!(matches!(err, StoreError::Edit(EditError::Transition(_))), "{err}");
    let err = store.apply_edit(job, note(&"x".repeat(20_000))).unwrap_err();
    assert!(matches!(err, StoreError::Edit(EditError::TextTooLong { .. })), "{err}");
    assert_eq!(store.open_job(job).unwrap(), before);
    assert!(matches!(store.apply_edit(JobId::new(), note("hi")), Err(StoreError::NoSuchJob(_))));
}

#[test]
fn corrupt_foreign_and_newer_files_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();

    let garbage = dir.path().join("garbage.sqlite");
    std::fs::write(&garbage, b"this is not a database, it is a shopping list: milk, eggs".repeat(100)).unwrap();
    let before = std::fs::read(&garbage).unwrap();
    // Encrypted, a damaged file and one with another key look the same: refused, untouched.
    assert!(matches!(Store::open(&garbage), Err(StoreError::Corrupt { .. } | StoreError::WrongKey { .. })));
    assert_eq!(std::fs::read(&garbage).unwrap(), before);

    let foreign = dir.path().join("foreign.sqlite");
    let c = rusqlite::Connection::open(&foreign).unwrap();
    c.execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('Ann');").unwrap();
    drop(c);
    assert!(matches!(Store::open(&foreign), Err(StoreError::Foreign { .. })));
    let c = rusqlite::Connection::open(&foreign).unwrap();
    let tables: i64 = c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 1, "nothing was migrated into the foreign file");
    drop(c);

    // A header that is fine but pages that are damaged: an error when read, never a panic.
    let (_d, path, store) = seeded();
    drop(store);
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes.iter_mut().skip(4096) {
        *b ^= 0x5a;
    }
    let damaged = dir.path().join("damaged.sqlite");
    std::fs::write(&damaged, &bytes).unwrap();
    match Store::open(&damaged) {
        Err(e) => assert!(
            matches!(e, StoreError::Corrupt { .. } | StoreError::WrongKey { .. } | StoreError::Sqlite(_) | StoreError::Migration(_)),
            "{e}"
        ),
        Ok(s) => assert!(s.list_all().is_err() || s.list_all().unwrap().is_empty()),
    }

    let newer = dir.path().join("newer.sqlite");
    drop(Store::open(&newer).unwrap());
    let c = Store::raw_connection(&newer).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    assert!(matches!(Store::open(&newer), Err(StoreError::NewerSchema { found: 99 })));
}

#[test]
fn knowledge_base_search_works_in_chinese_and_english() {
    let (_dir, _path, store) = seeded();
    let hits = store.search_kb("不排水", None).unwrap();
    assert_eq!(hits.first().map(|h| h.article.id.as_str()), Some("kb-washer-no-drain"));
    let hits = store.search_kb("排水", Some(Category::AirConditioner)).unwrap();
    assert!(hits.iter().all(|h| h.article.category == Category::AirConditioner));
    assert!(hits.iter().any(|h| h.article.id == "kb-ac-drip"));
    let hits = store.search_kb("drain pump", None).unwrap();
    assert!(hits.iter().any(|h| h.article.id == "kb-washer-no-drain"));
    let hits = store.search_kb("thermostat", Some(Category::Kettle)).unwrap();
    assert_eq!(hits.first().map(|h| h.article.id.as_str()), Some("kb-kettle-no-off"));
    assert!(store.search_kb("\"unbalanced AND (", None).is_ok(), "user text is never FTS syntax");
    assert!(store.search_kb("zebra crossing", None).unwrap().is_empty());
}

#[test]
fn known_fixes_follow_the_appliance_and_the_customers_words() {
    let (_dir, _path, store) = seeded();
    let cases = [
        (Category::Kettle, "Midea", "MK-SH17E", "不断电，一直烧 / keeps boiling, does not switch off", "kb-kettle-no-off"),
        (Category::Washer, "Haier", "EG100", "又不排水了 / stopped draining again", "kb-washer-no-drain"),
        (Category::Washer, "Siemens", "WM12", "滚筒不转 / drum does not turn", "kb-washer-brush"),
        (Category::Fridge, "Haier", "BCD-470", "冷藏室不冷 / fridge compartment warm", "kb-fridge-warm"),
        (Category::AirConditioner, "Gree", "KFR-35", "显示F1 / shows F1", "kb-ac-e1"),
        (Category::WaterHeater, "Vanward", "JSQ", "打不着火E1 / will not ignite, E1", "kb-wh-ignite"),
        (Category::Furniture, "Sihoo", "M57", "办公椅下沉 / office chair sinks", "kb-fu-chair-sink"),
    ];
    for (category, brand, model, problem, want) in cases {
        let fixes = store.fixes_for(category, brand, model, problem).unwrap();
        assert_eq!(fixes.first().map(|h| h.article.id.as_str()), Some(want), "{problem}: {fixes:?}");
        assert!(fixes.len() <= 3 && fixes.iter().all(|h| h.article.category == category));
    }
    assert!(store.fixes_for(Category::Kettle, "", "", "zebra crossing").unwrap().is_empty());
    assert!(store.fixes_for(Category::Kettle, "", "", "\" OR (").unwrap().is_empty(), "user text is never FTS syntax");
}

#[test]
fn photos_and_their_blobs_commit_together_and_wait_for_upload() {
    let (_dir, _path, mut store) = seeded();
    let job = open_job(&store);
    let photo =
        ReadyPhoto { jpeg: vec![0xff, 0xd8, 1, 2, 3, 0xff, 0xd9], thumbnail: vec![0xff, 0xd8, 9, 0xff, 0xd9], width: 1600, height: 1200 };
    let view = store.add_photo(job, PhotoKind::DataPlate, "铭牌 data plate", photo.clone()).unwrap();
    let p = view.field.photos.last().unwrap();
    assert_eq!(p.blob, BlobHash::of(&photo.jpeg));
    assert_eq!(store.blob(&p.blob).unwrap().unwrap(), photo.jpeg);
    assert_eq!(store.pending_blob_bytes().unwrap(), (photo.jpeg.len() + photo.thumbnail.len()) as u64);
    store.set_blob_uploaded(&p.blob, 3).unwrap();
    assert_eq!(store.blob_state(&p.blob).unwrap(), Some(BlobState::Pending { uploaded: 3 }));
    store.set_blob_uploaded(&p.blob, photo.jpeg.len() as u64).unwrap();
    assert_eq!(store.blob_state(&p.blob).unwrap(), Some(BlobState::Uploaded));
    assert_eq!(store.pending_blobs().unwrap().len(), 1, "only the thumbnail is left");
    assert_eq!(
        store.cached_view(job).unwrap().as_ref(),
        Some(&store.open_job_from_documents(job).unwrap()),
        "the photo in the cached copy"
    );
}

#[test]
fn parts_come_out_of_the_van_with_their_quote_line() {
    let (_dir, _path, mut store) = seeded();
    let job = open_job(&store);
    let today = Timestamp::now().start_of_local_day(DEMO_UTC_OFFSET_MIN);
    let stock = store.van_stock(today).unwrap();
    let have = stock.iter().find(|s| s.quantity >= 1).unwrap().clone();
    let view = store.use_part(job, &have.part_no, 1).unwrap();
    assert!(view.field.quote.lines.iter().any(|l| l.code == have.part_no && l.quantity == 1));
    let after = store.van_stock(today).unwrap().into_iter().find(|s| s.part_no == have.part_no).unwrap();
    assert_eq!((after.quantity, after.used_today), (have.quantity - 1, have.used_today + 1));
    // Taken off the quote again (wrong part), it goes back in the van.
    let line = view.field.quote.lines.iter().find(|l| l.code == have.part_no).unwrap().id;
    let back = store.remove_line(job, line).unwrap();
    assert!(back.field.quote.lines.iter().all(|l| l.code != have.part_no));
    let returned = store.van_stock(today).unwrap().into_iter().find(|s| s.part_no == have.part_no).unwrap();
    assert_eq!((returned.quantity, returned.used_today), (have.quantity, have.used_today));
    let view = store.use_part(job, &have.part_no, 1).unwrap();

    // Tomorrow the part is still gone from the van, but it was not used "today" any more.
    let tomorrow = Timestamp(today.0 + Timestamp::DAY);
    let next_day = store.van_stock(tomorrow).unwrap().into_iter().find(|s| s.part_no == have.part_no).unwrap();
    assert_eq!((next_day.quantity, next_day.used_today), (after.quantity, 0));

    // Asking for more than the van holds changes neither stock nor quote.
    let lines = view.field.quote.lines.len();
    let err = store.use_part(job, &have.part_no, after.quantity + 1).unwrap_err();
    assert!(matches!(err, StoreError::OutOfStock { .. }));
    assert_eq!(store.open_job(job).unwrap().field.quote.lines.len(), lines);
    assert_eq!(store.van_stock(today).unwrap().into_iter().find(|s| s.part_no == have.part_no).unwrap(), after);

    let m = store.match_scan(&store.part(&have.part_no).unwrap().unwrap().barcode, "Nobrand", "X").unwrap();
    assert_eq!(m.part.unwrap().part_no, have.part_no);
    assert!(store.match_scan("0000000000000", "Haier", "EG100").unwrap().part.is_none());
}

#[test]
fn many_edits_compact_without_losing_anything() {
    let (_dir, path, mut store) = seeded();
    let job = open_job(&store);
    for i in 0..150 {
        store.apply_edit(job, note(&format!("n{i}"))).unwrap();
    }
    drop(store);
    let store = Store::open(&path).unwrap();
    let notes: Vec<_> = store.open_job(job).unwrap().field.notes.into_iter().map(|n| n.text).collect();
    assert_eq!(notes, (0..150).map(|i| format!("n{i}")).collect::<Vec<_>>());
    let c = Store::raw_connection(&path).unwrap();
    let chunks: i64 = c.query_row("SELECT max(chunk_count) FROM docs", [], |r| r.get(0)).unwrap();
    assert!(chunks < 32, "chunks are folded into snapshots ({chunks})");
}

const CHILD_ENV: &str = "ONSITE_CRASH_CHILD_STORE";

/// Not a test on its own: the body of the child process that `crash_mid_write_*` kills. Run
/// directly (no env var) it returns at once.
#[test]
fn crash_writer_child_process() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let job: JobId = std::env::var("ONSITE_CRASH_CHILD_JOB").unwrap().parse().unwrap();
    let round: u32 = std::env::var("ONSITE_CRASH_CHILD_ROUND").unwrap().parse().unwrap();
    let mut store = Store::open(&path).unwrap();
    let mut first = 0;
    if let Ok(point) = std::env::var("ONSITE_CRASH_POINT") {
        // Die right there, like a crash: no unwinding, no destructors, no rollback.
        fail::cfg_callback(point, || std::process::abort()).unwrap();
        first = 1; // start with a photo
    }
    let mut out = std::io::stdout().lock();
    for i in first.. {
        if i % 2 == 1 {
            // Photos are larger writes (two blobs + an edit): more room for a torn write.
            let bytes: Vec<u8> = (0..150_000u32).map(|b| (b.wrapping_mul(2654435761) >> 13) as u8 ^ (i as u8) ^ round as u8).collect();
            let thumb = bytes[..5_000].to_vec();
            store
                .add_photo(
                    job,
                    PhotoKind::Fault,
                    &format!("r{round}p{i}"),
                    ReadyPhoto { jpeg: bytes, thumbnail: thumb, width: 1, height: 1 },
                )
                .unwrap();
            writeln!(out, "ACK photo r{round}p{i}").unwrap();
        } else {
            store.apply_edit(job, note(&format!("r{round}n{i}"))).unwrap();
            writeln!(out, "ACK note r{round}n{i}").unwrap();
        }
        out.flush().unwrap();
    }
}

#[test]
fn crash_mid_write_loses_no_acknowledged_edit_and_leaves_no_torn_state() {
    let (_dir, path, store) = seeded();
    let job = open_job(&store);
    drop(store);
    let exe = std::env::current_exe().unwrap();
    let mut acked_notes = Vec::new();
    let mut acked_photos = Vec::new();
    // Kill points: after a number of acknowledged writes plus a pseudo-random delay of up to
    // 4 ms, so over the rounds the kill lands at many different points inside a write (the delay
    // picks where to cut; nothing waits on it).
    let mut rng = 0x5eed_u64;
    for round in 0u32..40 {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let kill_after = 1 + (rng >> 40) as usize % 8;
        let delay = std::time::Duration::from_micros((rng >> 20) % 4_000);
        let mut child = Command::new(&exe)
            .args(["--exact", "store::crash_writer_child_process", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env("ONSITE_CRASH_CHILD_JOB", job.to_string())
            .env("ONSITE_CRASH_CHILD_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acks = 0;
        while acks < kill_after {
            let Some(line) = lines.next() else { panic!("child exited early in round {round}") };
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("ACK ") {
                acks += 1;
                let (kind, text) = rest.split_once(' ').unwrap();
                if kind == "note" { acked_notes.push(text.to_owned()) } else { acked_photos.push(text.to_owned()) }
            }
        }
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL: no destructors, no flush, mid-transaction
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (kind, text) = rest.split_once(' ').unwrap();
                if kind == "note" { acked_notes.push(text.to_owned()) } else { acked_photos.push(text.to_owned()) }
            }
        }
        child.wait().unwrap();

        let store = Store::open(&path).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let view = store.open_job(job).unwrap();
        let notes: Vec<&str> = view.field.notes.iter().map(|n| n.text.as_str()).collect();
        for n in &acked_notes {
            assert!(notes.contains(&n.as_str()), "round {round}: acknowledged note {n} lost");
        }
        for p in &acked_photos {
            assert!(view.field.photos.iter().any(|x| &x.caption == p), "round {round}: acknowledged photo {p} lost");
        }
        // No torn state: every photo's bytes are there and intact, and the index agrees.
        for p in &view.field.photos {
            assert!(store.blob(&p.blob).unwrap().is_some(), "round {round}: photo {} without its bytes", p.caption);
            assert!(store.blob(&p.thumbnail).unwrap().is_some());
        }
        let row = store.list_all().unwrap().into_iter().find(|j| j.job_id == job).unwrap();
        assert_eq!(row.status, derive(&view.dispatch, &view.field).status);
        drop(store);
        let c = Store::raw_connection(&path).unwrap();
        let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "round {round}");
    }
    assert!(acked_notes.len() >= 60, "the child really wrote ({})", acked_notes.len());
}

/// Crashes at each named point inside "add a photo" (blobs written, documents written, just
/// before commit): the photo is there whole or not at all.
#[test]
fn crash_at_each_point_of_a_photo_write_is_all_or_nothing() {
    let (_dir, path, store) = seeded();
    let job = open_job(&store);
    let before = store.open_job(job).unwrap();
    drop(store);
    let exe = std::env::current_exe().unwrap();
    for point in ["store::photo_blobs_written", "store::docs_written", "store::before_commit"] {
        let out = Command::new(&exe)
            .args(["--exact", "store::crash_writer_child_process", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env("ONSITE_CRASH_CHILD_JOB", job.to_string())
            .env("ONSITE_CRASH_CHILD_ROUND", "9")
            .env("ONSITE_CRASH_POINT", point)
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point}: the child was meant to crash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("ACK photo"), "{point}: a photo was acknowledged before its commit");

        let store = Store::open(&path).unwrap();
        let view = store.open_job(job).unwrap();
        assert_eq!(view.field, before.field, "{point}: no half-written photo");
        assert!(store.pending_blobs().unwrap().is_empty(), "{point}: no orphan blob");
        let row = store.list_all().unwrap().into_iter().find(|j| j.job_id == job).unwrap();
        assert_eq!(row.status, view.derived.status);
    }
}

/// The rules the screens once enforced only by disabling buttons are refused here, for any caller.
#[test]
fn rules_the_screens_relied_on_are_refused_below_them() {
    use shared::model::{LineItem, LineKind};
    use shared::rules::RuleViolation;
    let (_dir, _path, mut store) = seeded();
    let job = store.list_all().unwrap().into_iter().find(|j| j.status == Status::Assigned).unwrap().job_id;
    let status = |action, location, reason: &str| FieldEdit::Status { action, location, reason: reason.into() };

    // Declining needs a reason.
    let err = store.apply_edit(job, status(FieldAction::Decline, None, " ")).unwrap_err();
    assert!(matches!(err, StoreError::Edit(EditError::Rule(RuleViolation::ReasonRequired(FieldAction::Decline)))), "{err}");
    store.apply_edit(job, status(FieldAction::Accept, None, "")).unwrap();
    store.apply_edit(job, status(FieldAction::EnRoute, None, "")).unwrap();

    // A check-in away from the address, or with no position, needs a reason; at the door it does not.
    let site = store.open_job(job).unwrap().dispatch.customer.location.expect("demo jobs have a position");
    let far = shared::model::GeoPoint { lat: site.lat + 0.01, lon: site.lon };
    for here in [None, Some(far)] {
        let err = store.apply_edit(job, status(FieldAction::CheckIn, here, "")).unwrap_err();
        assert!(matches!(err, StoreError::Edit(EditError::Rule(RuleViolation::ReasonRequired(FieldAction::CheckIn)))), "{err}");
    }
    let near = shared::model::GeoPoint { lat: site.lat + 0.0005, lon: site.lon };
    store.apply_edit(job, status(FieldAction::CheckIn, Some(near), "")).unwrap();
    store.apply_edit(job, status(FieldAction::Start, Some(near), "")).unwrap();

    // Giving up needs a reason.
    let err = store.apply_edit(job, status(FieldAction::CannotComplete, Some(near), "")).unwrap_err();
    assert!(matches!(err, StoreError::Edit(EditError::Rule(RuleViolation::ReasonRequired(_)))), "{err}");

    // Part lines come only from the van: not added, changed or removed through a plain edit.
    let before = store.open_job(job).unwrap();
    let part = LineItem {
        id: shared::ItemId::new(),
        kind: LineKind::Part,
        code: "WM-PUMP-01".into(),
        description: "pump".into(),
        quantity: 1,
        unit_price_minor: 1,
    };
    assert!(matches!(store.apply_edit(job, FieldEdit::UpsertLine { line: part }), Err(StoreError::PartsFromVan)));
    assert_eq!(store.open_job(job).unwrap(), before, "nothing changed");

    // The same price item twice is one line counted twice.
    let item = store.price_list(None).unwrap().into_iter().find(|p| p.kind != LineKind::Part).expect("a price list");
    store.add_price_item(job, &item.code).unwrap();
    let view = store.add_price_item(job, &item.code).unwrap();
    let lines: Vec<_> = view.field.quote.lines.iter().filter(|l| l.code == item.code).collect();
    assert_eq!((lines.len(), lines[0].quantity), (1, 2));
    let twin = LineItem { id: shared::ItemId::new(), ..lines[0].clone() };
    let err = store.apply_edit(job, FieldEdit::UpsertLine { line: twin }).unwrap_err();
    assert!(matches!(err, StoreError::Edit(EditError::DuplicateLine(_))), "{err}");
    // A part taken from the van leaves the quote only by going back to the van.
    let have = store.van_stock(Timestamp(0)).unwrap().into_iter().find(|s| s.quantity > 0).expect("demo van stock");
    let view = store.use_part(job, &have.part_no, 1).unwrap();
    let part_line = view.field.quote.lines.iter().find(|l| l.kind == LineKind::Part).unwrap().clone();
    let more = LineItem { quantity: 5, ..part_line.clone() };
    assert!(matches!(store.apply_edit(job, FieldEdit::UpsertLine { line: more }), Err(StoreError::PartsFromVan)));
    assert!(matches!(store.apply_edit(job, FieldEdit::RemoveLine { id: part_line.id }), Err(StoreError::PartsFromVan)));
    assert!(matches!(store.set_line_quantity(job, part_line.id, 5), Err(StoreError::PartsFromVan)));
    assert!(store.remove_line(job, part_line.id).unwrap().field.quote.lines.iter().all(|l| l.id != part_line.id));
}

/// Every file of the store read as raw bytes (the database and its write-ahead log).
fn raw_files(path: &std::path::Path) -> Vec<u8> {
    let mut all = std::fs::read(path).unwrap();
    for ext in ["-wal", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(ext);
        all.extend(std::fs::read(std::path::PathBuf::from(side)).unwrap_or_default());
    }
    all
}

fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// What the phone's disk holds: customers' names, phones and photos only encrypted; a store
/// from before encryption is encrypted in place with nothing lost; another key opens nothing.
#[test]
fn the_raw_file_holds_no_customer_data_and_old_stores_are_encrypted_in_place() {
    let (dir, path, mut store) = seeded();
    let job = open_job(&store);
    let view = store.open_job(job).unwrap();
    let (name, phone) = (view.dispatch.customer.name.clone(), view.dispatch.customer.phone.clone());
    let jpeg = {
        let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8]));
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    };
    let photo = ReadyPhoto { jpeg: jpeg.clone(), thumbnail: jpeg[..jpeg.len() / 2].to_vec(), width: 640, height: 480 };
    store.add_photo(job, PhotoKind::Fault, "客厅 living room", photo).unwrap();
    drop(store);
    let raw = raw_files(&path);
    let photo_bytes = &jpeg[jpeg.len() / 2..jpeg.len() / 2 + 64];
    for (what, needle) in [("name", name.as_bytes()), ("phone", phone.as_bytes()), ("photo", photo_bytes), ("header", b"SQLite format 3")] {
        assert!(!holds(&raw, needle), "the store file holds the customer's {what} in the clear");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key_file = onsite_app::platform::keys::KeyFile::path_for(&path);
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // With its key it opens as before; with another it is refused and left as it was.
    assert_eq!(Store::open(&path).unwrap().open_job(job).unwrap().field.photos.len(), 1);
    let before = std::fs::read(&path).unwrap();
    let other = onsite_app::store::StoreKey::generate();
    assert!(matches!(Store::open_with_key(&path, &other), Err(StoreError::WrongKey { .. })));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // A store written before encryption: the same data, then encrypted on the next open.
    let old = dir.path().join("old.sqlite");
    let mut plain = Store::open_unencrypted(&old).unwrap();
    seed(&mut plain, "li", Timestamp::now()).unwrap();
    let jobs = plain.list_all().unwrap();
    let old_name = jobs[0].customer_name.clone();
    drop(plain);
    assert!(holds(&raw_files(&old), old_name.as_bytes()), "the unencrypted store holds the name (the scan can fail)");
    let store = Store::open(&old).unwrap();
    assert_eq!(store.list_all().unwrap().len(), jobs.len(), "nothing lost");
    drop(store);
    assert!(!holds(&raw_files(&old), old_name.as_bytes()), "encrypted in place");
    assert!(!holds(&raw_files(&old), b"SQLite format 3"));
}
