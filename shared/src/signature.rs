//! The customer's pen strokes: captured as vectors from pointer events, stored compactly, drawn
//! back as SVG in the report.
//!
//! Encoding v1 (little-endian): `0x01`, u16 stroke count, then per stroke a u16 point count and
//! that many (i16 x, i16 y) pairs in canvas pixels.

use serde::{Deserialize, Serialize};

pub const STROKES_MAX: usize = 200;
pub const STROKE_POINTS_MAX: usize = 4_000;
const VERSION: u8 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Strokes(pub Vec<Vec<(i16, i16)>>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StrokesError {
    #[error("signature has no strokes")]
    Empty,
    #[error("signature has too many strokes or points (at most {STROKES_MAX} strokes of {STROKE_POINTS_MAX} points)")]
    TooLarge,
    #[error("signature bytes are malformed")]
    Malformed,
}

impl Strokes {
    /// A signature is something drawn: at least one stroke with two points.
    pub fn validate(&self) -> Result<(), StrokesError> {
        if !self.0.iter().any(|s| s.len() >= 2) {
            return Err(StrokesError::Empty);
        }
        if self.0.len() > STROKES_MAX || self.0.iter().any(|s| s.len() > STROKE_POINTS_MAX) {
            return Err(StrokesError::TooLarge);
        }
        Ok(())
    }

    pub fn encode(&self) -> Result<Vec<u8>, StrokesError> {
        self.validate()?;
        let points: usize = self.0.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(3 + 2 * self.0.len() + 4 * points);
        out.push(VERSION);
        out.extend_from_slice(&(self.0.len() as u16).to_le_bytes());
        for stroke in &self.0 {
            out.extend_from_slice(&(stroke.len() as u16).to_le_bytes());
            for (x, y) in stroke {
                out.extend_from_slice(&x.to_le_bytes());
                out.extend_from_slice(&y.to_le_bytes());
            }
        }
        Ok(out)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StrokesError> {
        let mut r = Reader(bytes);
        if r.u8()? != VERSION {
            return Err(StrokesError::Malformed);
        }
        let n = r.u16()? as usize;
        if n > STROKES_MAX {
            return Err(StrokesError::TooLarge);
        }
        let mut strokes = Vec::with_capacity(n);
        for _ in 0..n {
            let m = r.u16()? as usize;
            if m > STROKE_POINTS_MAX {
                return Err(StrokesError::TooLarge);
            }
            let mut stroke = Vec::with_capacity(m);
            for _ in 0..m {
                stroke.push((r.u16()? as i16, r.u16()? as i16));
            }
            strokes.push(stroke);
        }
        if !r.0.is_empty() {
            return Err(StrokesError::Malformed);
        }
        Ok(Strokes(strokes))
    }

    /// An SVG document drawing the strokes, scaled into a `width` x `height` box.
    pub fn to_svg(&self, width: u32, height: u32) -> String {
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (i16::MAX, i16::MAX, i16::MIN, i16::MIN);
        for &(x, y) in self.0.iter().flatten() {
            (min_x, min_y, max_x, max_y) = (min_x.min(x), min_y.min(y), max_x.max(x), max_y.max(y));
        }
        let (vw, vh) = if min_x > max_x {
            (1, 1)
        } else {
            ((i32::from(max_x) - i32::from(min_x)).max(1), (i32::from(max_y) - i32::from(min_y)).max(1))
        };
        let mut svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="{} {} {vw} {vh}" preserveAspectRatio="xMidYMid meet"><g fill="none" stroke="#111" stroke-width="{}" stroke-linecap="round" stroke-linejoin="round">"##,
            min_x.min(max_x),
            min_y.min(max_y),
            (vw.max(vh) / 120).max(2)
        );
        for stroke in &self.0 {
            let mut d = String::new();
            for (i, (x, y)) in stroke.iter().enumerate() {
                d.push_str(&format!("{}{x} {y}", if i == 0 { "M" } else { " L" }));
            }
            svg.push_str(&format!(r#"<path d="{d}"/>"#));
        }
        svg.push_str("</g></svg>");
        svg
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, StrokesError> {
        let (&b, rest) = self.0.split_first().ok_or(StrokesError::Malformed)?;
        self.0 = rest;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, StrokesError> {
        Ok(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let s = Strokes(vec![vec![(0, 0), (10, 5), (20, -3)], vec![(5, 5), (6, 7)]]);
        let bytes = s.encode().unwrap();
        assert_eq!(Strokes::decode(&bytes).unwrap(), s);
        assert_eq!(Strokes::decode(&bytes[..bytes.len() - 1]), Err(StrokesError::Malformed));
        assert_eq!(Strokes::decode(&[9, 0, 0]), Err(StrokesError::Malformed));
        assert_eq!(Strokes(vec![vec![(1, 1)]]).encode(), Err(StrokesError::Empty));
        assert!(s.to_svg(300, 100).contains("M0 0 L10 5 L20 -3"));
    }
}
