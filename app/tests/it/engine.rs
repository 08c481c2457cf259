//! The engine's asks as they cross to the browser's store worker: every ask, encoded, answered
//! by a real engine over a real store and decoded, gives what the screens get in-process.

use std::sync::Arc;

use onsite_app::demo::seed;
use onsite_app::store::Store;
use onsite_app::ui::Lang;
use onsite_app::ui::components::job::UiAction;
use onsite_app::ui::engine::{
    Act, Ask, ChooseLanguage, ChosenLanguage, DayPlan, Engine, FullPhoto, OpenJob, Prepare, Request, SearchKb, Status, StoreInfo, VanStock,
    Work, answer_bytes, answer_media_bytes, decode, encode_request,
};
use shared::Timestamp;
use shared::model::PhotoKind;

/// Asks `ask` through bytes, as the page asks the worker.
async fn through_bytes<A: Ask + Clone>(engine: &Arc<Engine>, ask: A) -> A::Answer {
    let request = encode_request(&Into::<Request>::into(ask)).unwrap();
    let answer = answer_bytes(engine.clone(), &request).await;
    decode::<A>(&answer).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ask_crosses_as_bytes_and_answers_as_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("phone.sqlite")).unwrap();
    seed(&mut store, "li", Timestamp::now()).unwrap();
    let engine = Arc::new(Engine::new(store));

    let day = through_bytes(&engine, DayPlan { offset: 0, utc_offset_min: 480 }).await;
    assert!(!day.jobs.is_empty());
    assert_eq!(day, DayPlan { offset: 0, utc_offset_min: 480 }.answer(engine.clone()).await.unwrap());
    let job = day.jobs[0].job_id;
    let loaded = through_bytes(&engine, OpenJob(job)).await;
    assert_eq!(loaded, OpenJob(job).answer(engine.clone()).await.unwrap());

    // An action with a real photo: processed and saved by the engine, its thumbnail then opens.
    let photo = image::RgbImage::from_fn(1200, 900, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    photo.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    // Prepared where the browser prepares it: in the media worker, with no store.
    let prepare = Prepare(UiAction::AddPhoto { kind: PhotoKind::Fault, bytes: jpeg.into_inner() });
    let work = decode::<Prepare>(&answer_media_bytes(&encode_request(&prepare.into()).unwrap()).await).unwrap();
    assert!(matches!(&work, Work::Photo { ready, .. } if ready.width == 1200), "{work:?}");
    let done = through_bytes(&engine, Act { job, work, here: None }).await;
    assert!(done.sync.as_ref().is_some_and(|s| s.pending_changes > 0), "{done:?}");
    let loaded = through_bytes(&engine, OpenJob(job)).await;
    let thumbnail = loaded.view.field.photos[0].thumbnail.to_string();
    let full = through_bytes(&engine, FullPhoto { job, thumbnail }).await.expect("the full picture");
    assert!(full.url.starts_with("data:image/jpeg;base64,"));

    assert!(!through_bytes(&engine, SearchKb { query: "thermostat".into(), category: None }).await.is_empty());
    assert!(!through_bytes(&engine, VanStock { day_start: Timestamp(0) }).await.is_empty());
    assert!(through_bytes(&engine, StoreInfo).await.size_bytes > 0);
    assert!(through_bytes(&engine, Status).await.pending_changes > 0);
    assert_eq!(through_bytes(&engine, ChosenLanguage).await, None);
    through_bytes(&engine, ChooseLanguage(Lang::En)).await;
    assert_eq!(through_bytes(&engine, ChosenLanguage).await, Some(Lang::En));

    // A refused action comes back as the error the technician reads, in both languages.
    let refused = Act { job, work: Work::Edit(UiAction::AddNote("   ".into())), here: None };
    let request = encode_request(&Request::from(refused.clone())).unwrap();
    let err = decode::<Act>(&answer_bytes(engine.clone(), &request).await).unwrap_err();
    let in_process = refused.answer(engine.clone()).await.unwrap_err();
    for lang in [Lang::Zh, Lang::En] {
        assert_eq!(err.text(lang), in_process.text(lang));
    }
    // The media worker holds no store: a store ask there is an error, not a wrong answer.
    assert!(decode::<Status>(&answer_media_bytes(&encode_request(&Status.into()).unwrap()).await).is_err());
    // Garbage is an error, not a panic.
    assert!(decode::<Status>(&answer_bytes(engine.clone(), &[0xff, 0xff, 0xff]).await).is_err());
}

/// The app sends a technician's work only over HTTPS, or in clear to this very machine.
#[test]
fn servers_must_be_https_except_on_this_machine() {
    use onsite_app::sync_client::server_address;
    assert_eq!(server_address("https://onsite.example.com/").unwrap(), "https://onsite.example.com");
    assert_eq!(server_address(" http://127.0.0.1:8787 ").unwrap(), "http://127.0.0.1:8787");
    assert_eq!(server_address("http://localhost:8787/").unwrap(), "http://localhost:8787");
    assert_eq!(server_address("http://[::1]:8787").unwrap(), "http://[::1]:8787");
    for bad in [
        "http://192.168.1.20:8787",
        "http://onsite.example.com",
        "http://127.0.0.1.evil.example",
        "ftp://onsite.example.com",
        "onsite.example.com",
        "https://user:pw@onsite.example.com",
        "https://onsite.example.com/?x=1",
        "",
    ] {
        assert!(server_address(bad).is_err(), "{bad} was accepted");
    }
}
