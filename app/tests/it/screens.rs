//! Every screen rendered from fixed data (dioxus-ssr), including empty, offline, error and
//! conflict states, in both languages.

use dioxus::prelude::*;
use onsite_app::demo::{DEMO_UTC_OFFSET_MIN, seed};
use onsite_app::store::{JobSummary, JobView, KbHit, StockView, Store, TodayQuery};
use onsite_app::sync_client::{SyncProblem, SyncStatus};
use onsite_app::ui::Lang;
use onsite_app::ui::components::job::{JobScreen, JobScreenData, PhotoView};
use onsite_app::ui::components::panels::{BrowserStorage, KbScreen, SettingsData, SettingsScreen, StockScreen};
use onsite_app::ui::components::today::TodayScreen;
use shared::approval::content_hash;
use shared::edit::FieldEdit;
use shared::model::{Category, FieldAction, GeoPoint, LineItem, LineKind, Report, SignaturePurpose};
use shared::signature::Strokes;
use shared::status::Status;
use shared::{ItemId, Timestamp};

fn render<P: Clone + 'static>(root: fn(P) -> Element, props: P) -> String {
    let mut dom = VirtualDom::new_with_props(root, props);
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

/// The whole opening tag of the element carrying `needle`.
fn tag_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html.find(needle).unwrap_or_else(|| panic!("{needle} not rendered"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// Text as dioxus-ssr writes it into HTML.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path().join("s.sqlite")).unwrap();
    seed(&mut s, "li", Timestamp::now()).unwrap();
    (dir, s)
}

#[derive(Clone, PartialEq, Props)]
struct TodayP {
    jobs: Vec<JobSummary>,
    sync: SyncStatus,
    online: bool,
    lang: Lang,
    #[props(default = true)]
    paired: bool,
}

fn today(p: TodayP) -> Element {
    rsx! {
        TodayScreen {
            jobs: p.jobs,
            now: Timestamp::now(),
            here: Some(GeoPoint { lat: 31.2, lon: 121.45 }),
            sync: p.sync,
            online: p.online,
            lang: p.lang,
            utc_offset_min: DEMO_UTC_OFFSET_MIN,
            on_open: |_| {},
            on_pair: (!p.paired).then_some(EventHandler::new(|_| {})),
        }
    }
}

#[test]
fn today_groups_jobs_and_is_honest_about_sync_and_network() {
    let (_d, s) = store();
    let jobs = s.list_today(TodayQuery { day_start: Timestamp::now().start_of_local_day(DEMO_UTC_OFFSET_MIN) }).unwrap();
    assert!(!jobs.is_empty());
    let sync = SyncStatus {
        pending_changes: 3,
        pending_blob_bytes: 420_000,
        last_success: None,
        last_error: Some("server unreachable: error sending request".into()),
        problem: Some(SyncProblem::Unreachable),
        running: false,
    };
    let html = render(today, TodayP { jobs: jobs.clone(), sync, online: false, lang: Lang::Zh, paired: true });
    assert!(html.contains("data-testid=\"offline\""), "offline banner");
    assert!(html.contains("待上传 3") && html.contains("411 KB"), "honest pending counts: {html}");
    assert!(html.contains("连不上服务器") && html.contains("data-unsent=\"true\""), "the problem in the technician's language");
    assert!(html.contains("error sending request"), "the software's words as detail");
    for j in &jobs {
        assert!(html.contains(&j.customer_name), "{}", j.customer_name);
    }
    assert!(html.contains("已派单"), "grouped by status");
    assert!(html.contains(" km") || html.contains(" m<") || html.contains(" m "), "distance shown");

    let synced = SyncStatus { last_success: Some(Timestamp::now()), ..SyncStatus::default() };
    let html = render(today, TodayP { jobs: vec![], sync: synced, online: true, lang: Lang::En, paired: true });
    assert!(html.contains("No jobs on this day") && html.contains("Synced") && html.contains("data-unsent=\"false\""));
    assert!(!html.contains("data-testid=\"offline\""));

    // A revoked phone is told what to do about it.
    let revoked =
        SyncStatus { problem: Some(SyncProblem::NotAccepted), last_error: Some("server refused (401)".into()), ..SyncStatus::default() };
    let html = render(today, TodayP { jobs: vec![], sync: revoked, online: true, lang: Lang::En, paired: true });
    assert!(html.contains("ask dispatch for a new pairing code"));

    // Not paired yet: the way to pair instead of a sync state that could only be an error.
    let html = render(today, TodayP { jobs: vec![], sync: SyncStatus::default(), online: true, lang: Lang::En, paired: false });
    assert!(html.contains("data-testid=\"not-paired\"") && html.contains("data-testid=\"go-pair\""));
    assert!(!html.contains("data-testid=\"sync\""));
}

#[derive(Clone, PartialEq, Props)]
struct JobP {
    data: JobScreenData,
    lang: Lang,
}

fn job(p: JobP) -> Element {
    rsx! { JobScreen { data: p.data, lang: p.lang, on_action: |_| {} } }
}

fn data(view: JobView, here: Option<GeoPoint>) -> JobScreenData {
    JobScreenData {
        view,
        here,
        now: Timestamp::now(),
        prices: vec![],
        history: vec![],
        thumbnails: vec![],
        last_scan: None,
        fixes: vec![],
        utc_offset_min: DEMO_UTC_OFFSET_MIN,
        photo_view: None,
        problems: vec![],
    }
}

fn find(s: &Store, status: Status) -> JobView {
    let j = s.list_all().unwrap().into_iter().find(|j| j.status == status).unwrap();
    s.open_job(j.job_id).unwrap()
}

/// Where `needle` first appears (panics if it does not).
fn at(html: &str, needle: &str) -> usize {
    html.find(needle).unwrap_or_else(|| panic!("{needle} not rendered"))
}

#[test]
fn job_screen_leads_with_the_next_step_and_offers_only_allowed_actions() {
    let (_d, s) = store();
    let view = find(&s, Status::Assigned);
    for lang in [Lang::En, Lang::Zh] {
        let html = render(job, JobP { data: data(view.clone(), None), lang });
        // Who, when and the status first; then the next step; everything else after it.
        let head = at(&html, "data-testid=\"job-head\"");
        assert!(
            head < at(&html, "data-testid=\"next-step\"")
                && at(&html, "data-testid=\"next-step\"") < at(&html, "data-testid=\"customer-section\"")
        );
        assert!(tag_with(&html, "data-testid=\"next-step\"").contains("data-step=\"accept\""));
        assert!(html.contains("data-testid=\"appointment\"") && html.contains("–"), "the appointment window in the header");
        assert!(html.contains("data-action=\"accept\"") && html.contains("data-action=\"decline\""));
        // Declining asks for its reason in the same place, and waits for it.
        assert!(tag_with(&html, "data-action=\"decline\"").contains("disabled"));
        assert!(!html.contains("data-action=\"complete\""));
        assert!(html.contains(&escaped(&view.dispatch.customer.name)) && html.contains("tel:"));
        assert!(html.contains("data-testid=\"warranty\""));
    }
    let html = render(job, JobP { data: data(view.clone(), None), lang: Lang::En });
    assert!(html.contains("Nothing similar in the knowledge base") && !html.contains("data-testid=\"fix\""));
    let zh = render(job, JobP { data: data(view.clone(), None), lang: Lang::Zh });
    assert!(zh.contains("下一步：接单") && zh.contains("不能接这单"), "Chinese");

    // Known fixes for the appliance and problem, each opening in place; the search names the appliance.
    let a = &view.dispatch.appliance;
    let fixes = s.fixes_for(a.category, &a.brand, &a.model, &view.dispatch.problem).unwrap();
    assert!(!fixes.is_empty(), "the demo job's problem is in the knowledge base: {}", view.dispatch.problem);
    let html = render(job, JobP { data: JobScreenData { fixes: fixes.clone(), ..data(view.clone(), None) }, lang: Lang::En });
    assert_eq!(html.matches("data-testid=\"fix\"").count(), fixes.len());
    assert!(html.contains(&escaped(&fixes[0].article.title_en)) && html.contains(&escaped(&fixes[0].article.fix_en)));
    assert!(!html.contains("Nothing similar"));
    assert!(tag_with(&html, "data-testid=\"search-kb\"").contains("search-kb"));

    // Checking in far from the address asks why in the check-in step; the button waits for it.
    let en_route = find(&s, Status::EnRoute);
    let far = Some(GeoPoint { lat: 31.5, lon: 121.9 });
    let html = render(job, JobP { data: data(en_route.clone(), far), lang: Lang::En });
    assert!(tag_with(&html, "data-testid=\"next-step\"").contains("data-step=\"check_in\""));
    assert!(html.contains("from the address: say why") && html.contains(" km —"), "{html}");
    assert!(tag_with(&html, "data-action=\"check_in\"").contains("disabled"), "check-in waits for a reason");
    let near = en_route.dispatch.customer.location;
    let html = render(job, JobP { data: data(en_route, near), lang: Lang::En });
    assert!(!html.contains("say why") && !tag_with(&html, "data-action=\"check_in\"").contains("disabled"));

    // Every capture control on a screen is named once (the page reads the files of the control
    // it names), whatever the step.
    let mut s = s;
    let en_route = find(&s, Status::EnRoute).dispatch.job_id;
    s.apply_edit(en_route, FieldEdit::Status { action: FieldAction::CheckIn, location: None, reason: "no fix".into() }).unwrap();
    for status in [Status::OnSite, Status::InProgress] {
        let html = render(job, JobP { data: data(find(&s, status), None), lang: Lang::Zh });
        let picks: Vec<&str> = html.split("data-pick=\"").skip(1).map(|r| r.split('"').next().unwrap()).collect();
        let unique: std::collections::HashSet<_> = picks.iter().collect();
        assert!(!picks.is_empty() && unique.len() == picks.len(), "{status:?}: {picks:?}");
        assert!(html.contains("铭牌") && !html.contains("Choose File"), "localized capture buttons");
    }
}

fn in_progress(s: &Store) -> shared::JobId {
    s.list_all().unwrap().into_iter().find(|j| j.status == Status::InProgress).unwrap().job_id
}

/// Replacing a drain pump, 180.00 each (a price-list line: part lines come only from the van).
fn pump(description: &str, quantity: u32) -> LineItem {
    LineItem {
        id: ItemId::new(),
        kind: LineKind::Labor,
        code: "LAB-WM-PUMP".into(),
        description: description.into(),
        quantity,
        unit_price_minor: 180_00,
    }
}

#[test]
fn job_screen_shows_errors_conflicts_and_voided_approvals() {
    let (_d, mut s) = store();
    let id = in_progress(&s);
    let line = pump("排水泵", 1);
    s.apply_edit(id, FieldEdit::UpsertLine { line: line.clone() }).unwrap();
    let v = s.open_job(id).unwrap();
    let shown = content_hash(SignaturePurpose::QuoteApproval, &v.dispatch, &v.field).unwrap();
    s.apply_edit(
        id,
        FieldEdit::Sign {
            purpose: SignaturePurpose::QuoteApproval,
            signer: "王芳".into(),
            strokes: Strokes(vec![vec![(0, 0), (9, 9)]]),
            shown_hash: shown,
        },
    )
    .unwrap();
    let html = render(job, JobP { data: data(s.open_job(id).unwrap(), None), lang: Lang::En });
    assert!(html.contains("signed and approved"));
    let img = tag_with(&html, "data-testid=\"signature-image\"");
    let b64 = img.split("data:image/svg+xml;base64,").nth(1).and_then(|r| r.split('"').next()).expect("the signature drawn as SVG");
    let svg = String::from_utf8(base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap()).unwrap();
    assert!(svg.contains(r#"d="M0 0 L9 9""#), "the customer's own strokes: {svg}");
    s.apply_edit(id, FieldEdit::UpsertLine { line: LineItem { unit_price_minor: 260_00, ..line } }).unwrap();
    let d = data(s.open_job(id).unwrap(), None);
    let html = render(job, JobP { data: d, lang: Lang::En });
    assert!(html.contains("signature: it is void, sign again"), "voided approval is visible");
    assert!(html.contains("data-testid=\"signature-pad\""), "asks for a new signature");

    // A conflict (work recorded by someone the job is not assigned to) is flagged.
    let mut v = s.open_job(id).unwrap();
    let mut ev = v.field.events.last().unwrap().clone();
    ev.id = ItemId::new();
    ev.at = Timestamp(ev.at.0 + 1);
    ev.by = shared::TechnicianId::new();
    ev.action = FieldAction::Hold;
    v.field.events.push(ev);
    v.derived = shared::status::derive(&v.dispatch, &v.field);
    let html = render(job, JobP { data: data(v.clone(), None), lang: Lang::Zh });
    assert!(html.contains("data-testid=\"conflict\"") && html.contains("冲突") && html.contains("未被派单"), "localized: {html}");

    // What the last sync could not do for this job is said on the job, in both languages.
    use onsite_app::store::JobProblem;
    let problems = vec![
        JobProblem::Refused { code: shared::wire::RefusalCode::ClockSkew, message: "a status event is dated ...".into() },
        JobProblem::PhotoNotSent { error: "server refused (422)".into() },
    ];
    for (lang, words) in
        [(Lang::Zh, ["手机时间不对", "有照片还没能上传"]), (Lang::En, ["the phone's clock is wrong", "A photo could not be sent yet"])]
    {
        let html = render(job, JobP { data: JobScreenData { problems: problems.clone(), ..data(v.clone(), None) }, lang });
        assert_eq!(html.matches("data-testid=\"job-problem\"").count(), 2);
        assert!(words.iter().all(|w| html.contains(&escaped(w))), "{html}");
        assert!(html.contains("server refused (422)"), "the software's words as detail");
    }
}

/// The step the job screen leads with.
fn step_of(html: &str) -> String {
    let tag = tag_with(html, "data-testid=\"next-step\"");
    let i = tag.find("data-step=\"").expect("a step") + 11;
    tag[i..].split('"').next().unwrap().to_owned()
}

#[test]
fn the_report_the_customer_signs_shows_everything_the_signature_covers() {
    let (_d, mut s) = store();
    let id = in_progress(&s);
    let part = pump("排水泵 Drain pump", 2);
    s.apply_edit(id, FieldEdit::UpsertLine { line: part }).unwrap();
    s.apply_edit(id, FieldEdit::SetDiscount { discount_minor: 20_00 }).unwrap();
    s.apply_edit(id, FieldEdit::SetTaxRate { tax_rate_bp: 600 }).unwrap();
    let view = s.open_job(id).unwrap();
    let t = shared::pricing::totals(&view.field.quote).unwrap();
    assert_eq!((t.subtotal_minor, t.discount_minor), (360_00, 20_00));

    // Working with an unsigned quote: the quote leads, with its lines, their controls, every
    // total and the pad for the customer's signature; completing is not on offer yet.
    let html = render(job, JobP { data: data(view.clone(), None), lang: Lang::En });
    assert_eq!(step_of(&html), "quote");
    assert!(html.contains("×2") && html.contains("Subtotal") && html.contains("Discount") && html.contains("Tax 6.00 %"));
    assert!(html.contains("data-remove=") && html.contains("data-testid=\"signature-pad\""));
    assert!(!html.contains("data-action=\"complete\"") && !html.contains("report-content"));

    // Signed: the report leads; the signed quote is locked until the technician confirms a change.
    let shown = content_hash(SignaturePurpose::QuoteApproval, &view.dispatch, &view.field).unwrap();
    let strokes = Strokes(vec![vec![(0, 0), (9, 9)]]);
    s.apply_edit(id, FieldEdit::Sign { purpose: SignaturePurpose::QuoteApproval, signer: "王芳".into(), strokes, shown_hash: shown })
        .unwrap();
    let html = render(job, JobP { data: data(s.open_job(id).unwrap(), None), lang: Lang::En });
    assert_eq!(step_of(&html), "report");
    assert!(html.contains("data-testid=\"save-report\"") && html.contains("<textarea"), "multi-line report fields");
    assert!(html.contains("data-testid=\"edit-quote\"") && !html.contains("data-remove="), "a signed quote is locked");

    // Report saved: completing leads, and asks before it completes (the question is one tap away).
    let report = Report { cause: "Pump impeller jammed by a coin".into(), method: "Replaced the drain pump".into(), warranty_days: 90 };
    s.apply_edit(id, FieldEdit::SetReport { report }).unwrap();
    let html = render(job, JobP { data: data(s.open_job(id).unwrap(), None), lang: Lang::En });
    assert_eq!(step_of(&html), "complete");
    assert!(!tag_with(&html, "data-action=\"complete\"").contains("disabled"));
    assert!(!html.contains("confirm-complete\""), "the confirmation appears after the first tap");

    s.apply_edit(id, FieldEdit::Status { action: FieldAction::Complete, location: None, reason: String::new() }).unwrap();
    let view = s.open_job(id).unwrap();
    // The screens read the job's cached copy: with lines, signature, report and completion it
    // decodes and says what the documents say.
    assert_eq!(s.cached_view(id).unwrap().as_ref(), Some(&s.open_job_from_documents(id).unwrap()));
    let html = render(job, JobP { data: data(view.clone(), None), lang: Lang::En });
    assert_eq!(step_of(&html), "completion_signature");
    let start = html.find("data-testid=\"report-content\"").expect("the report is shown once complete");
    let report = &html[start..];
    let d = &view.dispatch;
    for covered in [
        d.customer.name.as_str(),
        d.customer.address.as_str(),
        d.appliance.serial.as_str(),
        "Pump impeller jammed by a coin",
        "Replaced the drain pump",
        "90 days",
        "排水泵 Drain pump",
        &shared::money::Money { minor: t.total_minor, currency: t.currency.clone() }.to_string(),
    ] {
        assert!(report.contains(&escaped(covered)), "the signed report shows {covered}");
    }
    assert!(!html.contains("✕"), "finished lines cannot be removed");
}

#[derive(Clone, PartialEq, Props)]
struct KbP {
    query: String,
    category: Option<Category>,
    hits: Vec<KbHit>,
    lang: Lang,
}

fn kb(p: KbP) -> Element {
    rsx! { KbScreen { query: p.query, category: p.category, hits: p.hits, lang: p.lang, on_search: |_| {}, on_category: |_| {} } }
}

#[derive(Clone, PartialEq, Props)]
struct StockP {
    stock: Vec<StockView>,
    #[props(default = Lang::En)]
    lang: Lang,
}

fn stock(p: StockP) -> Element {
    rsx! { StockScreen { stock: p.stock, lang: p.lang } }
}

#[derive(Clone, PartialEq, Props)]
struct SetP {
    data: SettingsData,
    #[props(default = Lang::En)]
    lang: Lang,
}

fn settings(p: SetP) -> Element {
    rsx! { SettingsScreen { data: p.data, lang: p.lang, on_action: |_| {} } }
}

#[test]
fn knowledge_base_stock_and_settings_render() {
    let (_d, s) = store();
    let hits = s.search_kb("不排水", None).unwrap();
    let html = render(kb, KbP { query: "不排水".into(), category: None, hits, lang: Lang::Zh });
    assert!(html.contains("洗衣机不排水"));
    let hits = s.search_kb("", Some(Category::Fridge)).unwrap();
    let html = render(kb, KbP { query: String::new(), category: Some(Category::Fridge), hits: hits.clone(), lang: Lang::En });
    assert!(tag_with(&html, "value=\"fridge\"").contains("selected"), "the chosen appliance stays selected");
    assert_eq!(html.matches("data-testid=\"kb-hit\"").count(), hits.len());
    assert!(!hits.is_empty() && html.contains("Fridge"));
    let html = render(kb, KbP { query: "zebra".into(), category: None, hits: vec![], lang: Lang::En });
    assert!(html.contains("No matching faults"));
    let html = render(kb, KbP { query: "zebra".into(), category: None, hits: vec![], lang: Lang::Zh });
    assert!(html.contains("没有找到相关故障"));

    let st = s.van_stock(Timestamp::now().start_of_local_day(DEMO_UTC_OFFSET_MIN)).unwrap();
    let low = st.iter().filter(|x| x.is_low()).count();
    let html = render(stock, StockP { stock: st.clone(), lang: Lang::En });
    assert!(html.contains(&format!("{low} parts are low")));
    let html = render(stock, StockP { stock: st, lang: Lang::Zh });
    assert!(html.contains(&format!("{low} 种配件库存不足")));
    assert!(render(stock, StockP { stock: vec![], lang: Lang::En }).contains("No van stock recorded"));

    let base = SettingsData {
        server: None,
        technician: None,
        storage_bytes: 123 * 1024,
        browser_storage: None,
        suggested_server: None,
        suggested_code: None,
        sync: SyncStatus::default(),
        online: false,
        utc_offset_min: 480,
    };
    let html = render(settings, SetP { data: base.clone(), lang: Lang::En });
    assert!(html.contains("Pair this phone") && html.contains("123 KB"));
    let html = render(settings, SetP { data: base.clone(), lang: Lang::Zh });
    assert!(html.contains("配对设备") && html.contains("本地存储"));
    assert!(!html.contains("sign-out"), "nobody to sign out before pairing");
    // The web app offers its own server (and the code of the pairing link it was opened with), and
    // says whether the browser keeps its data.
    let web = SettingsData {
        suggested_server: Some("https://onsite.example.com".into()),
        suggested_code: Some("K7Q29XWD".into()),
        browser_storage: Some(BrowserStorage { persisted: false, usage: 5 << 20, quota: 2 << 30 }),
        ..base.clone()
    };
    let html = render(settings, SetP { data: web.clone(), lang: Lang::En });
    assert!(html.contains(r#"value="https://onsite.example.com""#), "{html}");
    assert!(html.contains(r#"value="K7Q29XWD""#), "the pairing link's code is filled in: {html}");
    assert!(html.contains("may clear data") && html.contains("5 / 2048 MB"), "{html}");
    assert!(render(settings, SetP { data: web.clone(), lang: Lang::Zh }).contains("添加到主屏幕"));
    let kept = SettingsData { browser_storage: Some(BrowserStorage { persisted: true, usage: 0, quota: 1 << 30 }), ..web };
    assert!(render(settings, SetP { data: kept.clone(), lang: Lang::En }).contains("The browser keeps this app"));
    assert!(render(settings, SetP { data: kept, lang: Lang::Zh }).contains("浏览器已承诺保留本机数据"));
    let html = render(settings, SetP { data: SettingsData { technician: Some("李明 Li Ming".into()), ..base }, lang: Lang::En });
    assert!(html.contains("Signed in as 李明 Li Ming"));
    assert!(html.contains("sign-out") && !html.contains("Pair this phone"));
    assert!(!html.contains("browser-storage"), "no browser, no browser storage line");
}

#[test]
fn job_screen_shows_the_customers_photos_or_says_they_are_still_coming() {
    let (_d, s) = store();
    let mut view = find(&s, Status::Assigned);
    let html = render(job, JobP { data: data(view.clone(), None), lang: Lang::En });
    assert!(!html.contains("customer-photos"), "no section without photos");
    let (blob, thumbnail) = (shared::BlobHash::of(b"full"), shared::BlobHash::of(b"thumb"));
    view.dispatch.customer_photos.push(shared::model::CustomerPhoto {
        id: ItemId::new(),
        at: Timestamp::now(),
        blob,
        thumbnail: thumbnail.clone(),
        width: 1600,
        height: 1200,
        caption: "铭牌".into(),
    });
    // Offline, not downloaded yet: said plainly.
    let html = render(job, JobP { data: data(view.clone(), None), lang: Lang::En });
    assert!(html.contains("Photos from the customer") && html.contains("铭牌 (downloads when online)"), "{html}");
    // Downloaded: the thumbnail itself.
    let mut d = data(view, None);
    d.thumbnails = vec![(thumbnail.to_string(), "data:image/jpeg;base64,AAAA".into())];
    let html = render(job, JobP { data: d.clone(), lang: Lang::Zh });
    let section = &html[html.find("data-testid=\"customer-photos\"").unwrap()..];
    assert!(section.contains("客户发来的照片") && section.contains(r#"src="data:image/jpeg;base64,AAAA""#), "{html}");
    assert!(!section.contains("联网后下载"));
    assert!(!html.contains("photo-view"), "no picture open");
    // Tapped: the full picture over the screen, with its caption.
    d.photo_view = Some(PhotoView { url: "data:image/jpeg;base64,BBBB".into(), caption: "铭牌".into() });
    let html = render(job, JobP { data: d, lang: Lang::En });
    let overlay = tag_with(&html, "data-testid=\"photo-view\"");
    assert!(overlay.contains("photo-view"));
    assert!(html.contains(r#"src="data:image/jpeg;base64,BBBB""#) && html.contains("铭牌 · tap to close"));
}

#[test]
fn no_date_a_device_or_server_writes_crashes_a_screen() {
    let (_d, s) = store();
    let jobs = s.list_today(TodayQuery { day_start: Timestamp::now().start_of_local_day(DEMO_UTC_OFFSET_MIN) }).unwrap();
    let view = s.open_job(jobs[0].job_id).unwrap();
    for extreme in [Timestamp(i64::MAX), Timestamp(i64::MIN), Timestamp(253_402_300_799_000), Timestamp(-62_135_596_800_000)] {
        let mut v = view.clone();
        v.dispatch.appointment = Some(shared::model::Window { start: extreme, end: extreme });
        v.dispatch.sla.arrive_by = Some(extreme);
        v.dispatch.sla.resolve_by = Some(extreme);
        v.dispatch.created_at = extreme;
        for e in &mut v.dispatch.events {
            e.at = extreme;
        }
        for e in &mut v.field.events {
            e.at = extreme;
        }
        for lang in [Lang::Zh, Lang::En] {
            let html = render(job, JobP { data: data(v.clone(), None), lang });
            assert!(html.contains(&escaped(&v.dispatch.customer.name)));
            let summaries: Vec<JobSummary> = jobs
                .iter()
                .cloned()
                .map(|j| JobSummary { appointment: v.dispatch.appointment, arrive_by: Some(extreme), resolve_by: Some(extreme), ..j })
                .collect();
            let html = render(today, TodayP { jobs: summaries, sync: SyncStatus::default(), online: true, lang, paired: true });
            assert!(html.contains(&escaped(&jobs[0].customer_name)));
        }
    }
}

#[test]
fn today_flags_late_and_urgent_jobs_and_what_the_van_lacks() {
    use onsite_app::store::Shortfall;
    use onsite_app::ui::components::today::TodayScreen;
    use shared::model::{Priority, Window};
    let (_d, s) = store();
    let now = Timestamp::now();
    let mut jobs = s.list_all().unwrap();
    jobs.truncate(2);
    // One job whose window ended an hour ago and the technician is not there yet; one urgent
    // job tomorrow afternoon.
    jobs[0].status = Status::Accepted;
    jobs[0].priority = Priority::Normal;
    jobs[0].arrive_by = None;
    jobs[0].appointment = Some(Window { start: Timestamp(now.0 - 3 * Timestamp::HOUR), end: Timestamp(now.0 - Timestamp::HOUR) });
    jobs[1].status = Status::Assigned;
    jobs[1].priority = Priority::Urgent;
    jobs[1].arrive_by = None;
    jobs[1].resolve_by = None;
    let tomorrow = Timestamp(now.start_of_local_day(DEMO_UTC_OFFSET_MIN).0 + Timestamp::DAY + 14 * Timestamp::HOUR);
    jobs[1].appointment = Some(Window { start: tomorrow, end: Timestamp(tomorrow.0 + 2 * Timestamp::HOUR) });
    let short = vec![Shortfall {
        part_no: "KT-THERM-01".into(),
        name_zh: "水壶温控器".into(),
        name_en: "Kettle thermostat".into(),
        in_van: 0,
        needed: 2,
        for_customers: vec!["赵芳".into(), "钱伟".into()],
    }];
    #[derive(Clone, PartialEq, Props)]
    struct P {
        jobs: Vec<JobSummary>,
        readiness: Vec<Shortfall>,
        lang: Lang,
        now: Timestamp,
    }
    fn screen(p: P) -> Element {
        rsx! { TodayScreen {
            jobs: p.jobs, readiness: p.readiness, now: p.now, here: None, sync: SyncStatus::default(), online: true,
            lang: p.lang, utc_offset_min: DEMO_UTC_OFFSET_MIN, on_open: |_| {}, on_day: |_| {}, on_pair: None,
        } }
    }
    for (lang, late, urgent, tomorrow_word, lacks) in [
        (Lang::En, "LATE", "URGENT", "Tomorrow 14:00–16:00", "The van may lack"),
        (Lang::Zh, "迟到", "加急", "明天 14:00–16:00", "车上可能缺的配件"),
    ] {
        let html = render(screen, P { jobs: jobs.clone(), readiness: short.clone(), lang, now });
        assert_eq!(html.matches("data-late=\"true\"").count(), 1, "{html}");
        assert!(html.contains(late) && html.contains(urgent) && html.contains("data-testid=\"attention\""));
        assert!(html.contains(tomorrow_word), "times as a technician reads them: {html}");
        assert!(!html.contains("+08:00"), "no offsets in the list");
        assert!(html.contains(lacks) && html.contains("data-part=\"KT-THERM-01\"") && html.contains("赵芳, 钱伟"));
        assert!(html.contains("data-testid=\"day-next\""), "the days ahead are one tap away");
    }
    let html = render(screen, P { jobs: jobs.clone(), readiness: vec![], lang: Lang::En, now });
    assert!(html.contains("data-testid=\"van-ready\""));
}
