//! Numbers with a fixed count of decimals (percentages, points, SVG coordinates), written with
//! integer arithmetic. `format!("{:.1}", x)` would link core's float formatting (its shortest
//! and exact algorithms and their tables, about 10 KB of the gzipped wasm) for numbers that
//! never need it: they are small, finite and shown to at most four decimals.

use std::fmt;

/// `Fixed(value, decimals)` displays `value` with `decimals` digits after the point (at most
/// 6), rounded half to even as `{:.N}` rounds: `Fixed(41.25, 1)` is `41.2`, `Fixed(0.5, 0)` is
/// `0`. No minus sign on a value that rounds to zero. A value too large to write this way
/// (beyond ±9·10¹⁵ once scaled) or not finite is written as it would be with no decimals,
/// clamped: these numbers come from counts and never are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fixed(pub f64, pub u8);

/// The largest scaled magnitude written exactly (below 2⁵³).
const LIMIT: f64 = 9.0e15;

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fixed(value, decimals) = *self;
        let decimals = decimals.min(6);
        let scale = 10_u64.pow(u32::from(decimals));
        // `scale` ≤ 10⁶: exact as an f64.
        #[allow(clippy::cast_precision_loss)]
        let scaled = (value * scale as f64).round_ties_even();
        let scaled = if scaled.is_nan() {
            0.0
        } else {
            scaled.clamp(-LIMIT, LIMIT)
        };
        // Whole and within ±9·10¹⁵ after the clamp: the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let magnitude = scaled.abs() as u64;
        if scaled < 0.0 && magnitude != 0 {
            f.write_str("-")?;
        }
        let mut digits = itoa::Buffer::new();
        f.write_str(digits.format(magnitude / scale))?;
        if decimals > 0 {
            let fraction = digits.format(magnitude % scale);
            f.write_str(".")?;
            for _ in fraction.len()..usize::from(decimals) {
                f.write_str("0")?;
            }
            f.write_str(fraction)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Fixed;

    #[test]
    fn writes_as_the_standard_formatting_does() {
        for (value, decimals, written) in [
            (41.234, 1, "41.2"),
            (0.0, 1, "0.0"),
            (100.0, 0, "100"),
            (99.96, 1, "100.0"),
            (0.06, 1, "0.1"),
            (-3.25, 1, "-3.2"),
            (-0.04, 1, "0.0"),
            (2.5, 0, "2"),
            (3.5, 0, "4"),
            (0.776, 4, "0.7760"),
            (0.000_04, 4, "0.0000"),
            (12.0, 3, "12.000"),
        ] {
            assert_eq!(
                Fixed(value, decimals).to_string(),
                written,
                "{value} to {decimals}"
            );
        }
    }

    #[test]
    fn never_panics_on_what_counts_never_give() {
        assert_eq!(Fixed(f64::NAN, 1).to_string(), "0.0");
        assert_eq!(Fixed(f64::INFINITY, 0).to_string(), "9000000000000000");
        assert_eq!(
            Fixed(f64::NEG_INFINITY, 2).to_string(),
            "-90000000000000.00"
        );
        assert_eq!(Fixed(1.5, 200).to_string(), "1.500000");
    }

    /// Every figure the dashboard and the alerts write (a share × 100, points, an SVG
    /// coordinate, a rate to four decimals) reads as `{:.N}` would write it, but for the sign
    /// of a negative zero and a tie, which `{:.N}` decides on the exact binary value: there the
    /// two may differ by one in the last place.
    #[test]
    fn agrees_with_the_standard_formatting() {
        for i in -400_000_i32..=400_000 {
            let value = f64::from(i) * 0.137_1;
            for decimals in 0_u8..=4 {
                let ours = Fixed(value, decimals).to_string();
                let std = format!("{value:.prec$}", prec = usize::from(decimals));
                let std = match std.strip_prefix('-') {
                    Some(zero) if zero.bytes().all(|b| b == b'0' || b == b'.') => zero.to_owned(),
                    _ => std,
                };
                if ours != std {
                    let scaled = value * 10_f64.powi(i32::from(decimals));
                    assert!(
                        (scaled.abs().fract() - 0.5).abs() < 1e-6,
                        "{value} to {decimals}: {ours} against {std}"
                    );
                }
            }
        }
    }
}
