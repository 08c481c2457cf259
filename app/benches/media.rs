//! Photo processing of a 12 MP camera JPEG, and decoding a QR code from a 1080p frame.

use criterion::{Criterion, criterion_group, criterion_main};
use image::{DynamicImage, ImageFormat, RgbImage};

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn bench(c: &mut Criterion) {
    // 4000 x 3000 with texture, so the JPEG is camera-like in size (~3-5 MB).
    let photo = RgbImage::from_fn(4000, 3000, |x, y| {
        let n = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) >> 24;
        image::Rgb([(x / 16) as u8 ^ n as u8, (y / 12) as u8, ((x + y) / 28) as u8])
    });
    let jpeg = encode(DynamicImage::ImageRgb8(photo), ImageFormat::Jpeg);
    println!("12 MP input: {} bytes", jpeg.len());
    let mut g = c.benchmark_group("media");
    g.sample_size(20);
    g.bench_function("photo_process_12mp", |b| b.iter(|| onsite_app::photo::process(&jpeg).unwrap()));

    // A 1080p frame with a QR code label in it.
    use rxing::Writer;
    let m = rxing::qrcode::QRCodeWriter.encode("WM-PUMP-01", &rxing::BarcodeFormat::QR_CODE, 360, 360).unwrap();
    let frame = image::GrayImage::from_fn(1920, 1080, |x, y| {
        let (qx, qy) = (x.wrapping_sub(780), y.wrapping_sub(360));
        let v = if qx < m.width() && qy < m.height() { if m.get(qx, qy) { 0 } else { 255 } } else { 170 + ((x ^ y) % 40) as u8 };
        image::Luma([v])
    });
    let frame = encode(DynamicImage::ImageLuma8(frame), ImageFormat::Jpeg);
    assert_eq!(onsite_app::scan::decode(&frame).unwrap().text, "WM-PUMP-01");
    g.bench_function("scan_decode_1080p", |b| b.iter(|| onsite_app::scan::decode(&frame).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
