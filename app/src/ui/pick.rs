//! Reading the bytes of a picked file (a photo, a scanned code) whatever renderer shows the screen.
//!
//! The desktop renderer answers a file input with a native dialog and hands the file engine real
//! paths. A liveview page keeps the file in the browser: dioxus-liveview 0.7 sends the bytes in a
//! field the event type does not read, so the file engine sees only a name. There a small script
//! reads the chosen files in the page and sends them back as data URLs.

use base64::Engine;
use dioxus::prelude::*;

/// Where a file input's bytes can be read. Provided as context by the renderer's launcher;
/// absent means the desktop behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileSource {
    /// The file engine reads native paths (desktop, mobile webviews).
    #[default]
    Native,
    /// The bytes stay in the browser page (liveview); a script reads them.
    Browser,
}

/// The bytes of every file chosen in the input marked `data-pick="{pick}"`, read as `source` requires.
pub async fn picked_files(event: &FormEvent, pick: &str, source: FileSource) -> Result<Vec<Vec<u8>>, String> {
    match source {
        FileSource::Native => {
            let mut out = Vec::new();
            for file in event.files() {
                let bytes = file.read_bytes().await.map_err(|e| format!("could not read {}: {e}", file.name()))?;
                out.push(bytes.to_vec());
            }
            Ok(out)
        }
        FileSource::Browser => {
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
        }
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
