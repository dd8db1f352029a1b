"""Synthetic SRNS cohorts calibrated to the source article, with their ground truth."""

from srnskit.synth.calibration import calibrate
from srnskit.synth.demo import demo_path, write_demo
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile, shipped_profiles

__all__ = [
    "calibrate",
    "demo_path",
    "load_profile",
    "shipped_profiles",
    "write_demo",
    "write_synthetic_cohort",
]
