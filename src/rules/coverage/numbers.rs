//! coverage.py's arithmetic, reproduced exactly (coverage 7.17, `coverage/results.py`):
//! `Numbers.pc_covered`, `should_fail_under` with `_fail_under_precision`, and Python's
//! `round(float, ndigits)`.

/// Counts as coverage.py's `Numbers` keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub statements: u64,
    pub covered_statements: u64,
    pub branches: u64,
    pub covered_branches: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.statements += other.statements;
        self.covered_statements += other.covered_statements;
        self.branches += other.branches;
        self.covered_branches += other.covered_branches;
    }

    /// `Numbers.pc_covered`: `(100.0 * numerator) / denominator`, or 100 with nothing to cover.
    pub fn percent(&self) -> f64 {
        let numerator = self.covered_statements + self.covered_branches;
        let denominator = self.statements + self.branches;
        if denominator > 0 {
            (100.0 * numerator as f64) / denominator as f64
        } else {
            100.0
        }
    }
}

/// Python's `round(x, ndigits)` for a float: the exact binary value rounded to `ndigits`
/// decimals, ties to even, read back as the nearest float (CPython's `double_round`).
pub fn python_round(x: f64, ndigits: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Rust prints the exact decimal expansion when asked for enough digits (a double in
    // coverage's range has at most 1074 fractional binary digits, so 1100 decimals are exact).
    let exact = format!("{:.1100}", x.abs());
    let (int_part, frac_part) = exact.split_once('.').unwrap_or((&exact, ""));
    let n = ndigits as usize;
    let (kept, rest) = frac_part.split_at(n.min(frac_part.len()));
    let mut digits: Vec<u8> = int_part
        .bytes()
        .chain(kept.bytes())
        .map(|b| b - b'0')
        .collect();
    let first = rest.bytes().next().map_or(0, |b| b - b'0');
    let beyond_half = rest.bytes().skip(1).any(|b| b != b'0');
    let last_odd = digits.last().is_some_and(|d| d % 2 == 1);
    let round_up = first > 5 || (first == 5 && (beyond_half || last_odd));
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let split = digits.len() - n;
    let text: String = digits[..split]
        .iter()
        .map(|d| char::from(b'0' + d))
        .chain(std::iter::once('.'))
        .chain(digits[split..].iter().map(|d| char::from(b'0' + d)))
        .collect();
    let value: f64 = text.parse().unwrap_or(x.abs());
    if x.is_sign_negative() {
        -value
    } else {
        value
    }
}

/// `_fail_under_precision`: at least as many decimals as the threshold is written with.
pub fn fail_under_precision(fail_under: f64, precision: u32) -> u32 {
    if fail_under == fail_under.trunc() {
        return precision;
    }
    // Python's `str(float)` and Rust's `Display` both give the shortest round-trip digits.
    let text = format!("{fail_under}");
    let decimals = text
        .split_once('.')
        .map_or(0, |(_, frac)| frac.len() as u32);
    precision.max(decimals)
}

/// `should_fail_under`. `fail_under` must be within 0..=100 (checked where it is configured).
pub fn should_fail_under(total: f64, fail_under: f64, precision: u32) -> bool {
    if fail_under == 100.0 && total != 100.0 {
        return true;
    }
    python_round(total, fail_under_precision(fail_under, precision)) < fail_under
}

/// `display_covered`: never shows 0 or 100 unless the value truly is.
pub fn display_covered(percent: f64, precision: u32) -> String {
    let near0 = 1.0 / 10f64.powi(precision as i32);
    let shown = if 0.0 < percent && percent < near0 {
        near0
    } else if (100.0 - near0) < percent && percent < 100.0 {
        100.0 - near0
    } else {
        python_round(percent, precision)
    };
    format!("{shown:.prec$}", prec = precision as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_like_python() {
        // Values checked against CPython's round().
        assert_eq!(python_round(0.125, 2), 0.12);
        assert_eq!(python_round(0.375, 2), 0.38);
        assert_eq!(python_round(2.675, 2), 2.67); // 2.67499999... in binary
        assert_eq!(python_round(79.5, 0), 80.0);
        assert_eq!(python_round(80.5, 0), 80.0);
        assert_eq!(python_round(79.995, 2), 80.0); // 79.99500000000000454747...
        assert_eq!(python_round(99.99999, 0), 100.0);
        assert_eq!(python_round(9.5, 0), 10.0);
    }

    #[test]
    fn fail_under_precision_follows_the_threshold() {
        assert_eq!(fail_under_precision(80.0, 0), 0);
        assert_eq!(fail_under_precision(79.995, 0), 3);
        assert_eq!(fail_under_precision(79.5, 2), 2);
    }

    #[test]
    fn decisions_match_coverage_py() {
        assert!(!should_fail_under(79.5, 80.0, 0), "79.5 rounds to 80");
        assert!(should_fail_under(79.4, 80.0, 0));
        assert!(
            should_fail_under(99.99, 100.0, 2),
            "100 must be exactly 100"
        );
        assert!(!should_fail_under(100.0, 100.0, 0));
        assert!(should_fail_under(79.994, 79.995, 0));
        assert!(!should_fail_under(79.995, 79.995, 0));
    }

    #[test]
    fn percent_and_display() {
        let counts = Counts {
            statements: 6,
            covered_statements: 4,
            branches: 2,
            covered_branches: 1,
        };
        assert_eq!(counts.percent(), 62.5);
        assert_eq!(display_covered(62.5, 0), "62");
        assert_eq!(display_covered(99.9, 0), "99");
        assert_eq!(display_covered(0.01, 1), "0.1");
        assert_eq!(Counts::default().percent(), 100.0);
    }
}
