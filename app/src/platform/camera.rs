//! Where photos and pictures of part labels come from.
//!
//! On the desktop a capture control is a file input: the renderer answers it with a native dialog
//! and hands the file engine real paths ([`FilePicker`]). A liveview page keeps the file in the
//! browser: dioxus-liveview 0.7 sends the bytes in a field the event type does not read, so the
//! file engine sees only a name; there a small script reads the chosen files in the page and sends
//! them back as data URLs ([`BrowserFiles`]). File inputs deliver nothing on Android/iOS in Dioxus
//! 0.7, so phones need a native capture plugin behind this same trait (see DESIGN.md).

use std::future::Future;
use std::pin::Pin;

use base64::Engine;
use dioxus::prelude::*;

/// The pictures a capture control produced, or what went wrong, in words for the technician.
pub type Pictures<'a> = Pin<Box<dyn Future<Output = Result<Vec<Vec<u8>>, String>> + 'a>>;

/// Takes or picks pictures. The app asks it when a capture control (`data-pick="{pick}"`)
/// reports a change; screens receive it as context and fall back to [`FilePicker`].
pub trait Camera: Send + Sync {
    /// The encoded images (JPEG, PNG, ...) chosen with the control `pick` that raised `event`.
    fn pictures<'a>(&'a self, event: &'a FormEvent, pick: &'a str) -> Pictures<'a>;
}

/// Desktop: the file engine reads the files chosen in the native dialog.
#[derive(Clone, Copy, Debug, Default)]
pub struct FilePicker;

impl Camera for FilePicker {
    fn pictures<'a>(&'a self, event: &'a FormEvent, _pick: &'a str) -> Pictures<'a> {
        Box::pin(async move {
            let mut out = Vec::new();
            for file in event.files() {
                // Refused before it is read: a 2 GB video picked by mistake must not fill memory.
                if file.size() > shared::photo::INPUT_BYTES_MAX as u64 {
                    return Err(format!("{} is {} MB: too large for a photo", file.name(), file.size() >> 20));
                }
                let bytes = file.read_bytes().await.map_err(|e| format!("could not read {}: {e}", file.name()))?;
                out.push(bytes.to_vec());
            }
            Ok(out)
        })
    }
}

/// A browser page (liveview): the bytes stay in the page, so a script reads them.
#[derive(Clone, Copy, Debug, Default)]
pub struct BrowserFiles;

impl Camera for BrowserFiles {
    fn pictures<'a>(&'a self, _event: &'a FormEvent, pick: &'a str) -> Pictures<'a> {
        Box::pin(async move {
            let script = format!(
                r#"const input = document.querySelector('input[data-pick="{pick}"]');
if (!input) return [];
const read = (f) => new Promise((ok, fail) => {{
  const r = new FileReader();
  r.onload = () => ok(r.result);
  r.onerror = () => fail(String(r.error));
  r.readAsDataURL(f);
}});
const out = [];
for (const f of input.files) out.push(await read(f));
input.value = "";
return out;"#
            );
            let urls: Vec<String> = document::eval(&script).join().await.map_err(|e| format!("could not read the picked file: {e}"))?;
            urls.iter().map(|u| decode_data_url(u)).collect()
        })
    }
}

/// The bytes of a base64 `data:` URL.
fn decode_data_url(url: &str) -> Result<Vec<u8>, String> {
    let (head, body) = url.split_once(',').ok_or("the picked file came back malformed")?;
    if !head.starts_with("data:") || !head.ends_with(";base64") {
        return Err("the picked file came back malformed".into());
    }
    base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| format!("the picked file came back malformed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::decode_data_url;

    #[test]
    fn data_urls_decode_and_garbage_is_refused() {
        assert_eq!(decode_data_url("data:image/jpeg;base64,/9j/").unwrap(), vec![0xff, 0xd8, 0xff]);
        assert_eq!(decode_data_url("data:;base64,").unwrap(), Vec::<u8>::new());
        assert!(decode_data_url("nonsense").is_err());
        assert!(decode_data_url("data:image/jpeg,plain").is_err());
        assert!(decode_data_url("data:image/jpeg;base64,@@@").is_err());
    }
}
