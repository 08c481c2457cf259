//! Reading a part's QR code or barcode from a camera image, in Rust (rxing), so the same code
//! runs on every platform and in tests.

use image::ImageReader;
use rxing::BarcodeFormat;

/// A decoded code.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scanned {
    pub text: String,
    /// `qr_code`, `ean_13`, `code_128`, ...
    pub symbology: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("no QR code or barcode found in the image; move closer and try again")]
    NotFound,
    #[error("not an image this app can read: {0}")]
    Unreadable(#[from] image::ImageError),
    #[error("could not read the image: {0}")]
    Io(#[from] std::io::Error),
}

/// Longest edge decoded; larger camera frames are scaled down first (codes stay readable).
pub const DECODE_EDGE_PX: u32 = 1920;

fn symbology(f: BarcodeFormat) -> String {
    let name = format!("{f:?}").to_lowercase();
    match name.as_str() {
        "qr_code" | "ean_13" | "ean_8" | "code_128" | "code_39" | "upc_a" | "upc_e" => name,
        _ => name.replace(' ', "_"),
    }
}

/// Decodes the first QR code or 1-D barcode found in an encoded image.
pub fn decode(bytes: &[u8]) -> Result<Scanned, ScanError> {
    let img = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?.decode()?;
    let img = if img.width().max(img.height()) > DECODE_EDGE_PX {
        img.resize(DECODE_EDGE_PX, DECODE_EDGE_PX, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let luma = img.to_luma8();
    let result = rxing::helpers::detect_in_luma_slice(luma.as_raw(), luma.width(), luma.height(), None).map_err(|_| ScanError::NotFound)?;
    Ok(Scanned { text: result.getText().to_owned(), symbology: symbology(*result.getBarcodeFormat()) })
}
