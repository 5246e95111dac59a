//! The weekly picture's chart: reports opened per day, stacked by level, drawn with `plotters` in a font that
//! ships inside the binary (DejaVu Sans, assets/fonts), so it looks the same on any machine.

use chrono::{Datelike, Days, NaiveDate};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const WIDTH: u32 = 900;
const HEIGHT: u32 = 500;

/// Routine, urgent, emergency: amber, orange, red.
const COLOURS: [RGBColor; 3] = [
    RGBColor(242, 181, 61),
    RGBColor(230, 110, 40),
    RGBColor(200, 30, 45),
];
const NAMES: [&str; 3] = ["routine", "urgent", "emergency"];

#[derive(Debug, thiserror::Error)]
#[error("the weekly chart could not be drawn: {0}")]
pub struct ChartError(String);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is ours and valid: registering it cannot fail but for a broken build.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The chart of the week starting on `week`, as a PNG.
pub fn weekly_png(week: NaiveDate, reports_by_day: &[[u32; 3]; 7]) -> Result<Vec<u8>, ChartError> {
    register_font();
    let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    draw(week, reports_by_day, &mut pixels).map_err(|e| ChartError(e.to_string()))?;
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| ChartError(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| ChartError(e.to_string()))?;
    writer.finish().map_err(|e| ChartError(e.to_string()))?;
    Ok(png)
}

fn draw(
    week: NaiveDate,
    reports_by_day: &[[u32; 3]; 7],
    pixels: &mut [u8],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let highest = reports_by_day
        .iter()
        .map(|day| day.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(4);
    let title = format!(
        "Reports opened per day, week of {}",
        week.format("%-d %B %Y")
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((0u32..6u32).into_segmented(), 0u32..highest + 1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(7)
        .x_label_formatter(&|segment| match segment {
            SegmentValue::CenterOf(day) | SegmentValue::Exact(day) => {
                let date = week + Days::new(u64::from(*day));
                format!("{} {}", date.weekday(), date.day())
            }
            SegmentValue::Last => String::new(),
        })
        .x_label_style(("sans-serif", 16))
        .y_label_style(("sans-serif", 16))
        .y_desc("reports")
        .draw()?;
    // Stacked: each level's bar stands on the levels below it.
    for (level, colour) in COLOURS.iter().enumerate() {
        let below = |day: u32| -> u32 {
            reports_by_day
                .get(day as usize)
                .map_or(0, |counts| counts[..level].iter().sum())
        };
        let tops = (0u32..7).map(|day| (day, below(day) + reports_by_day[day as usize][level]));
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(colour.filled())
                    .margin(14)
                    .baseline_func(move |segment| match segment {
                        SegmentValue::Exact(day) | SegmentValue::CenterOf(day) => below(*day),
                        SegmentValue::Last => 0,
                    })
                    .data(tops),
            )?
            .label(NAMES[level])
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_a_png_of_its_size_and_differs_with_its_figures() {
        let week = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let quiet = weekly_png(week, &[[0; 3]; 7]).expect("png");
        let mut busy_days = [[0; 3]; 7];
        busy_days[0] = [2, 1, 0];
        busy_days[3] = [0, 3, 1];
        let busy = weekly_png(week, &busy_days).expect("png");
        assert_eq!(&busy[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&busy));
        let reader = decoder.read_info().expect("a PNG");
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
        assert_ne!(quiet, busy, "the bars are drawn");
    }
}
