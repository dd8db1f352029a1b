"""Studies as data: a study's design (eligibility, comparison group, windows, standard dose,
kidney function), apart from the guideline definition sets, and the source article's
published figures."""

from srnskit.studies.model import StudyDesign, load_study, shipped_studies
from srnskit.studies.targets import seed_targets

__all__ = ["StudyDesign", "load_study", "seed_targets", "shipped_studies"]
