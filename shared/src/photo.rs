//! Photos as OnSite keeps them: decoded, turned upright, downscaled to a long edge of 1600 px and
//! re-encoded as JPEG with a thumbnail. Re-encoding writes no EXIF, so the location a camera
//! embedded never leaves the phone. The server prepares the customer's photos the same way, so
//! a phone never downloads a 20 MB original. Pure computation on bytes in memory.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

/// A photo ready to keep: the re-encoded image, its thumbnail, and the image's size.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadyPhoto {
    #[serde(with = "serde_bytes")]
    pub jpeg: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub thumbnail: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

pub const LONG_EDGE_PX: u32 = 1600;
pub const THUMBNAIL_EDGE_PX: u32 = 320;
pub const JPEG_QUALITY: u8 = 80;
/// Largest input accepted (a 50 MP camera JPEG is ~25 MB).
pub const INPUT_BYTES_MAX: usize = 40 * 1024 * 1024;
/// Most pixels decoded (a 50 MP camera frame is 8160 x 6120). The image header is read first: a
/// small file claiming more is refused before any pixel is decoded.
pub const PIXELS_MAX: u64 = 52_000_000;
/// Most memory one decode may take (50 MP of RGB is ~150 MB); with decodes bounded by the CPU
/// pool, this bounds what photos can cost a server.
pub const DECODE_BYTES_MAX: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("photo is {0} bytes, over the {INPUT_BYTES_MAX}-byte limit")]
    TooLarge(usize),
    #[error("not a photo this app can read: {0}")]
    Unreadable(#[from] image::ImageError),
    #[error("could not read the photo: {0}")]
    Io(#[from] std::io::Error),
    #[error("photo is {width} x {height} pixels, over the {PIXELS_MAX}-pixel limit")]
    TooManyPixels { width: u32, height: u32 },
}

fn jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality).encode_image(&img.to_rgb8())?;
    Ok(out)
}

/// Prepares a photo for keeping and uploading.
pub fn process(bytes: &[u8]) -> Result<ReadyPhoto, PhotoError> {
    if bytes.len() > INPUT_BYTES_MAX {
        return Err(PhotoError::TooLarge(bytes.len()));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(DECODE_BYTES_MAX);
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > PIXELS_MAX {
        return Err(PhotoError::TooManyPixels { width, height });
    }
    let orientation = decoder.orientation()?;
    let mut img = DynamicImage::from_decoder(decoder)?;
    img.apply_orientation(orientation);
    if img.width().max(img.height()) > LONG_EDGE_PX {
        // Area-averaging downscale: about 3x faster than a triangle filter on a 12 MP frame, and
        // as sharp at this ratio (2.5x).
        img = img.thumbnail(LONG_EDGE_PX, LONG_EDGE_PX);
    }
    let thumb = img.thumbnail(THUMBNAIL_EDGE_PX, THUMBNAIL_EDGE_PX);
    Ok(ReadyPhoto { jpeg: jpeg(&img, JPEG_QUALITY)?, thumbnail: jpeg(&thumb, 70)?, width: img.width(), height: img.height() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid PNG of `w` x `h` pixels of one colour, written row by row (so a huge one costs
    /// little to make): the compressed rows are tiny, the decoded image would not be.
    fn flat_png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Grayscale);
            let mut writer = enc.write_header().unwrap();
            let mut stream = writer.stream_writer().unwrap();
            let row = vec![0u8; w as usize];
            for _ in 0..h {
                std::io::Write::write_all(&mut stream, &row).unwrap();
            }
            stream.finish().unwrap();
        }
        out
    }

    #[test]
    fn a_small_file_claiming_a_huge_image_is_refused_before_decoding() {
        let bomb = flat_png(10_000, 10_000);
        assert!(bomb.len() < 1_000_000, "{} bytes", bomb.len());
        let started = web_time::Instant::now();
        let err = process(&bomb).unwrap_err();
        assert!(matches!(err, PhotoError::TooManyPixels { width: 10_000, height: 10_000 }), "{err}");
        assert!(started.elapsed().as_millis() < 500, "refused from the header: {:?}", started.elapsed());
        // An ordinary photo still goes through.
        let ok = process(&flat_png(2000, 1500)).unwrap();
        assert_eq!((ok.width, ok.height), (1600, 1200));
    }
}
