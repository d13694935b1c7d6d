//! Holt's linear trend method (double exponential smoothing), fitted by a grid search over
//! the smoothing parameters that minimizes the one-step-ahead squared error.

use serde::Serialize;

/// A fitted Holt model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Holt {
    /// Level smoothing, 0–1.
    pub alpha: f64,
    /// Trend smoothing, 0–1.
    pub beta: f64,
    /// Level after the last observation.
    pub level: f64,
    /// Trend (per period) after the last observation.
    pub trend: f64,
    /// Root mean squared one-step-ahead error over the fit.
    pub rmse: f64,
}

impl Holt {
    /// Runs the recursions with given parameters; `None` for fewer than 2 observations.
    pub fn with_params(series: &[f64], alpha: f64, beta: f64) -> Option<Self> {
        let (&first, &second) = (series.first()?, series.get(1)?);
        let mut level = first;
        let mut trend = second - first;
        let mut sse = 0.0;
        for &y in &series[1..] {
            let predicted = level + trend;
            sse += (y - predicted).powi(2);
            let previous = level;
            level = alpha * y + (1.0 - alpha) * (level + trend);
            trend = beta * (level - previous) + (1.0 - beta) * trend;
        }
        Some(Self {
            alpha,
            beta,
            level,
            trend,
            rmse: (sse / (series.len() - 1) as f64).sqrt(),
        })
    }

    /// Fits alpha and beta on a 0.05 grid; `None` for fewer than 2 observations.
    pub fn fit(series: &[f64]) -> Option<Self> {
        let grid = (1..20).map(|i| f64::from(i) * 0.05);
        grid.clone()
            .flat_map(|a| grid.clone().map(move |b| (a, b)))
            .filter_map(|(a, b)| Self::with_params(series, a, b))
            .min_by(|x, y| x.rmse.total_cmp(&y.rmse))
    }

    /// Forecasts `horizon` periods ahead (never below zero: these are sales).
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        (1..=horizon)
            .map(|h| (self.level + h as f64 * self.trend).max(0.0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_is_extrapolated_exactly() {
        let series: Vec<f64> = (0..12).map(|t| 10.0 + 2.0 * f64::from(t)).collect();
        let m = Holt::fit(&series).unwrap();
        assert!(m.rmse < 1e-9, "{m:?}");
        let f = m.forecast(3);
        for (h, v) in f.iter().enumerate() {
            let expected = 10.0 + 2.0 * (11 + h + 1) as f64;
            assert!((v - expected).abs() < 1e-6, "{f:?}");
        }
    }

    #[test]
    fn noisy_trend_is_followed_and_forecasts_stay_non_negative() {
        let series: Vec<f64> = (0..24)
            .map(|t| 100.0 + 5.0 * f64::from(t) + if t % 2 == 0 { 3.0 } else { -3.0 })
            .collect();
        let m = Holt::fit(&series).unwrap();
        assert!((m.trend - 5.0).abs() < 1.5, "{m:?}");
        let falling: Vec<f64> = (0..10).map(|t| 50.0 - 10.0 * f64::from(t)).collect();
        assert!(
            Holt::fit(&falling)
                .unwrap()
                .forecast(12)
                .iter()
                .all(|v| *v >= 0.0)
        );
        assert!(Holt::fit(&[1.0]).is_none());
    }
}
