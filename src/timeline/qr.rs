//! A start link as a QR code, in a PNG file to print on the aftercare card.

use qrcode::{Color, QrCode};

/// Pixels per module of the code: about 4 cm wide at 300 dpi for a start link.
const SCALE: usize = 10;
/// The light border the standard asks for, in modules.
const QUIET_ZONE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the text does not fit a QR code: {0}")]
    TooLong(#[from] qrcode::types::QrError),
    #[error("writing the PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// `text` as a black-on-white QR code, PNG bytes.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::new(text.as_bytes())?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (x, y) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for row in y * SCALE..(y + 1) * SCALE {
            pixels[row * side + x * SCALE..row * side + (x + 1) * SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let side = u32::try_from(side).unwrap_or(u32::MAX);
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_link_becomes_a_png_with_its_quiet_zone() {
        let bytes = png("https://t.me/ClinicBot?start=AWFRBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g")
            .expect("png");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().expect("a readable PNG");
        let mut image = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut image).expect("one frame");
        assert_eq!(info.width, info.height);
        assert_eq!(info.width as usize % SCALE, 0);
        // The corner is light (the quiet zone), and the finder pattern just inside it is dark.
        assert_eq!(image[0], 255);
        let inside = QUIET_ZONE * SCALE;
        assert_eq!(image[inside * info.width as usize + inside], 0);
    }
}
