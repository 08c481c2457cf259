//! QR codes drawn as SVG paths (rxing encodes; one square per dark module, so the code stays
//! sharp at any size and needs no image route).

use rxing::{BarcodeFormat, Writer, qrcode::QRCodeWriter};

/// The SVG path of `text` as a QR code and the side of its square (modules, quiet zone included).
pub fn path(text: &str) -> Option<(String, u32)> {
    let m = QRCodeWriter.encode(text, &BarcodeFormat::QR_CODE, 0, 0).ok()?;
    let (w, h) = (m.width(), m.height());
    let mut d = String::new();
    for y in 0..h {
        for x in 0..w {
            if m.get(x, y) {
                d.push_str(&format!("M{x} {y}h1v1h-1z"));
            }
        }
    }
    Some((d, w.max(h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drawn at 8 pixels a module and read back with rxing's reader: what a phone's camera does.
    #[test]
    fn the_code_reads_back() {
        let text = "https://onsite.example:8443/app/#pair=K7Q2-9XWD";
        let (d, side) = path(text).unwrap();
        let scale = 8u32;
        let px = side * scale;
        let mut luma = vec![255u8; (px * px) as usize];
        for cmd in d.split('M').filter(|c| !c.is_empty()) {
            let xy: Vec<u32> = cmd.trim_end_matches("h1v1h-1z").split(' ').map(|n| n.parse().unwrap()).collect();
            for dy in 0..scale {
                for dx in 0..scale {
                    luma[((xy[1] * scale + dy) * px + xy[0] * scale + dx) as usize] = 0;
                }
            }
        }
        let read = rxing::helpers::detect_in_luma(luma, px, px, Some(BarcodeFormat::QR_CODE)).unwrap();
        assert_eq!(read.getText(), text);
    }
}
