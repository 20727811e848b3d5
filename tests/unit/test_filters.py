"""The numpy Bessel filter and exponential fit against scipy's reference implementations."""

import numpy as np
import pytest
from scipy import signal
from scipy.optimize import curve_fit

from patchseq_ml.ephys.filters import bessel_lowpass_ba, fit_exponential, lowpass


@pytest.mark.parametrize("rate", [50000.0, 200000.0])
@pytest.mark.parametrize("cutoff_khz", [1.0, 10.0])
def test_coefficients_and_filtering_match_scipy(rate, cutoff_khz):
    b, a = bessel_lowpass_ba(cutoff_khz * 1000.0, rate)
    b_ref, a_ref = signal.bessel(4, cutoff_khz * 1000.0 / (rate / 2.0), "low")
    np.testing.assert_allclose(b, b_ref, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(a, a_ref, rtol=1e-6, atol=1e-12)
    rng = np.random.default_rng(0)
    x = -65 + np.cumsum(rng.normal(0, 0.2, 60000)) + np.where(np.arange(60000) % 4000 < 25, 90.0, 0.0)
    ours, ref = lowpass(x, rate, cutoff_khz), signal.filtfilt(b_ref, a_ref, x)
    edge = int(rate * 0.005 / cutoff_khz)  # 5 filter time constants at each end differ (edge padding)
    np.testing.assert_allclose(ours[edge:-edge], ref[edge:-edge], atol=1e-5)


def test_exponential_fit_matches_curve_fit():
    t = np.linspace(0, 40, 400)
    y = -72 - 9 * np.exp(-t / 6.5) + np.random.default_rng(2).normal(0, 0.1, t.size)
    y0, amp, tau = fit_exponential(t, y, (0.5, 500.0))
    (ref_y0, ref_amp, ref_inv_tau), _ = curve_fit(lambda t, a, b, c: a + b * np.exp(-t * c), t, y, p0=(-80, -5, 0.1))
    assert tau == pytest.approx(1 / ref_inv_tau, rel=1e-3)
    assert (y0, amp) == pytest.approx((ref_y0, ref_amp), rel=1e-3)
