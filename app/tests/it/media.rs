//! Photo processing and code scanning on real images.

use image::{DynamicImage, GenericImageView, ImageFormat, RgbImage};
use onsite_app::photo::{LONG_EDGE_PX, THUMBNAIL_EDGE_PX, process};
use onsite_app::scan::{ScanError, decode};

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A real QR code, rendered as a PNG (rxing's encoder), `scale` pixels per module, quiet zone.
pub fn qr_png(text: &str, size: u32) -> Vec<u8> {
    use rxing::Writer;
    let matrix = rxing::qrcode::QRCodeWriter.encode(text, &rxing::BarcodeFormat::QR_CODE, size as i32, size as i32).unwrap();
    let img = image::GrayImage::from_fn(matrix.width(), matrix.height(), |x, y| image::Luma([if matrix.get(x, y) { 0 } else { 255 }]));
    encode(DynamicImage::ImageLuma8(img), ImageFormat::Png)
}

#[test]
fn photos_are_downscaled_reencoded_and_thumbnailed() {
    let big = RgbImage::from_fn(4000, 3000, |x, y| image::Rgb([(x / 16) as u8, (y / 12) as u8, ((x + y) / 28) as u8]));
    let jpeg = encode(DynamicImage::ImageRgb8(big), ImageFormat::Jpeg);
    let ready = process(&jpeg).unwrap();
    assert_eq!((ready.width, ready.height), (LONG_EDGE_PX, 1200));
    let out = image::load_from_memory(&ready.jpeg).unwrap();
    assert_eq!(out.dimensions(), (1600, 1200));
    assert_eq!(image::guess_format(&ready.jpeg).unwrap(), ImageFormat::Jpeg);
    let thumb = image::load_from_memory(&ready.thumbnail).unwrap();
    assert_eq!(thumb.width().max(thumb.height()), THUMBNAIL_EDGE_PX);
    assert!(ready.jpeg.len() < 600_000, "re-encoded size {}", ready.jpeg.len());
    // No EXIF segment (APP1 "Exif") survives re-encoding.
    assert!(!ready.jpeg.windows(4).any(|w| w == b"Exif"));

    // Small photos keep their size; garbage is a clear error.
    let small = encode(DynamicImage::ImageRgb8(RgbImage::new(640, 480)), ImageFormat::Png);
    assert_eq!(process(&small).unwrap().width, 640);
    assert!(process(b"definitely not a photo").is_err());
}

#[test]
fn qr_codes_and_barcodes_decode_from_images() {
    let png = qr_png("WM-PUMP-01", 400);
    let s = decode(&png).unwrap();
    assert_eq!((s.text.as_str(), s.symbology.as_str()), ("WM-PUMP-01", "qr_code"));

    // An EAN-13 from the catalog, drawn by rxing's encoder.
    use rxing::Writer;
    let m = rxing::oned::EAN13Writer.encode("6900123450000", &rxing::BarcodeFormat::EAN_13, 600, 200).unwrap();
    let img = image::GrayImage::from_fn(m.width() + 40, m.height() + 40, |x, y| {
        let inside = x >= 20 && y >= 20 && x < m.width() + 20 && y < m.height() + 20;
        image::Luma([if inside && m.get(x - 20, y - 20) { 0 } else { 255 }])
    });
    let s = decode(&encode(DynamicImage::ImageLuma8(img), ImageFormat::Png)).unwrap();
    assert_eq!((s.text.as_str(), s.symbology.as_str()), ("6900123450000", "ean_13"));

    let blank = encode(DynamicImage::ImageRgb8(RgbImage::from_pixel(300, 300, image::Rgb([200, 200, 200]))), ImageFormat::Png);
    assert!(matches!(decode(&blank), Err(ScanError::NotFound)));
}
