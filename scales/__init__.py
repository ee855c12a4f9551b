"""The answer scales: one source of truth for forms, models, reports, API and export.

Codes are stored, labels are shown. Every layer reads the scales from here, so a code
added or renamed here changes the form, the report and the codebook together.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property

from scales import i18n


@dataclass(frozen=True)
class Scale:
    """An ordered set of answer codes with their labels, help text and source."""

    name: str
    options: tuple[tuple[str, str], ...]
    description: str = ""
    source: str = ""
    help: dict[str, str] = field(default_factory=dict)

    @cached_property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.options)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(code, label) pairs for a WTForms field, each label in the reader's language when rendered."""
        return [(code, i18n.lazy_gettext(label)) for code, label in self.options]

    def label(self, code: str | None) -> str:
        """The code's label in the reader's language (an unknown code is shown as it is)."""
        label = self.english(code)
        return i18n.gettext(label) if label and label != code else label

    def english(self, code: str | None) -> str:
        """The code's label in English, the source every catalog translates: for exports and codebooks."""
        return dict(self.options).get(code or "", code or "")

    def hint(self, code: str) -> str:
        """The code's help text in the reader's language, or ""."""
        text = self.help.get(code, "")
        return i18n.gettext(text) if text else ""

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def __iter__(self):
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.options)


def _scale(name, options, description="", source="", help=None) -> Scale:
    return Scale(name, tuple(options), description, source, help or {})


# --- accounts -------------------------------------------------------------------------

ACCOUNT_ROLE = _scale(
    "account_role",
    [
        ("patient", "Participant"),
        ("researcher", "Researcher"),
        ("moderator", "Moderator"),
        ("admin", "Administrator"),
    ],
    "What an account may do on the site (not what it reports as).",
)

# --- who reports and the optional profile -----------------------------------------------

ROLE = _scale(
    "role",
    [
        ("patient", "I have this condition"),
        ("caregiver", "I care for someone with this condition"),
        ("survivor", "I had this condition"),
    ],
    "Who is reporting. For a caregiver the report and profile describe the person cared for.",
)

AGE_BAND = _scale(
    "age_band",
    [
        ("under_18", "Under 18"),
        ("18_29", "18-29"),
        ("30_44", "30-44"),
        ("45_64", "45-64"),
        ("65_plus", "65 and over"),
    ],
    "Age band derived from birth year at the time of the report.",
)

SEX = _scale(
    "sex",
    [
        ("female", "Female"),
        ("male", "Male"),
        ("other", "Other"),
        ("undisclosed", "Prefer not to say"),
    ],
)

YEARS_SINCE_DIAGNOSIS = _scale(
    "years_since_diagnosis",
    [
        ("lt_1", "Less than 1 year"),
        ("1_5", "1-5 years"),
        ("5_10", "5-10 years"),
        ("10_plus", "10 years or more"),
    ],
    "Years between diagnosis and the report, banded.",
)

# --- the catalog ------------------------------------------------------------------------

TREATMENT_KIND = _scale(
    "kind",
    [
        ("drug", "Drug"),
        ("supplement", "Supplement"),
        ("procedure", "Procedure"),
        ("therapy", "Therapy"),
        ("device", "Device"),
        ("lifestyle", "Lifestyle"),
        ("other", "Other"),
    ],
)

# --- a treatment experience -------------------------------------------------------------

DOSE_UNIT = _scale(
    "dose_unit",
    [
        ("mg", "mg"),
        ("mcg", "mcg"),
        ("g", "g"),
        ("ml", "ml"),
        ("units", "units"),
        ("puffs", "puffs"),
        ("drops", "drops"),
        ("patches", "patches"),
        ("other", "other"),
    ],
    source="PatientsLikeMe",
)

DOSE_FREQUENCY = _scale(
    "dose_frequency",
    [
        ("as_needed", "As needed"),
        ("once_daily", "Once a day"),
        ("twice_daily", "Twice a day"),
        ("three_times_daily", "Three times a day"),
        ("weekly", "Weekly"),
        ("monthly", "Monthly"),
        ("other", "Other"),
    ],
    source="PatientsLikeMe",
)

EFFECTIVENESS = _scale(
    "effectiveness",
    [
        ("worse", "Made it worse"),
        ("none", "None"),
        ("slight", "Slight"),
        ("moderate", "Moderate"),
        ("major", "Major"),
        ("cant_tell", "Can't tell"),
    ],
    "Compared with how the condition was before the treatment.",
    "PatientsLikeMe (None/Slight/Moderate/Major/Can't tell) + CureTogether's 'made it worse'",
    {
        "worse": "Symptoms got worse while on it.",
        "none": "No noticeable change.",
        "slight": "A small improvement you might not notice day to day.",
        "moderate": "A clear improvement that made daily life easier.",
        "major": "A large improvement; symptoms mostly under control.",
        "cant_tell": "Too early, or too many things changed at once to say.",
    },
)

# "Improved" for ranking: moderate or major among answers other than cant_tell.
IMPROVED_CODES = ("moderate", "major")
UNKNOWN_EFFECT_CODE = "cant_tell"

SIDE_EFFECT_SEVERITY = _scale(
    "side_effect_severity",
    [
        ("none", "None"),
        ("mild", "Mild"),
        ("moderate", "Moderate"),
        ("severe", "Severe"),
        ("very_severe", "Very severe"),
    ],
    "All side effects of this treatment together, on their worst day.",
    "PRO-CTCAE severity attribute",
    {
        "none": "No side effects.",
        "mild": "Noticeable, but did not get in the way.",
        "moderate": "Got in the way of some daily activities.",
        "severe": "Got in the way of most daily activities.",
        "very_severe": "Disabling, or needed medical care.",
    },
)

SEVERE_CODES = ("severe", "very_severe")

ADHERENCE = _scale(
    "adherence",
    [
        ("always", "Always"),
        ("usually", "Usually"),
        ("sometimes", "Sometimes"),
        ("rarely", "Rarely"),
    ],
    "Skipped, late or self-changed doses count as not as prescribed.",
    "PatientsLikeMe adherence",
)

BURDEN = _scale(
    "burden",
    [
        ("not_at_all", "Not at all"),
        ("a_little", "A little"),
        ("somewhat", "Somewhat"),
        ("very", "Very"),
    ],
    "Counting the routine, injections or diet rules, and the time it took.",
    "PatientsLikeMe burden, WebMD 'ease of use'",
)

COST_PER_MONTH = _scale(
    "cost_per_month",
    [
        ("zero", "Nothing"),
        ("lt_25", "Less than $25"),
        ("25_100", "$25-$100"),
        ("100_500", "$100-$500"),
        ("500_1000", "$500-$1,000"),
        ("gt_1000", "More than $1,000"),
        ("unknown", "Don't know"),
    ],
    "Paid out of pocket after insurance, co-pays included.",
    "PatientsLikeMe cost bands",
)

INSURANCE_COVERAGE = _scale(
    "insurance_coverage",
    [
        ("covered", "Covered"),
        ("partly", "Partly covered"),
        ("not_covered", "Not covered"),
        ("denied", "Coverage denied"),
        ("no_insurance", "No insurance"),
        ("unknown", "Don't know"),
    ],
    'Any insurance or health plan, public or private; "Coverage denied" if a claim or request was refused.',
)

NOT_COVERED_CODES = ("not_covered", "denied")

STOP_REASON = _scale(
    "stop_reasons",
    [
        ("side_effects", "Side effects"),
        ("not_effective", "Did not work"),
        ("cost", "Cost"),
        ("not_covered", "Not covered by insurance"),
        ("doctor_advice", "Doctor's advice"),
        ("improved", "Condition improved"),
        ("inconvenient", "Inconvenient"),
        ("other", "Other"),
    ],
    "Why the treatment was stopped (several may apply).",
    "PatientsLikeMe",
)

WOULD_RECOMMEND = _scale(
    "would_recommend",
    [("yes", "Yes"), ("no", "No")],
    "Counting everything: how well it worked, side effects, cost and effort.",
    "WebMD, Healthgrades",
)

DURATION = _scale(
    "duration",
    [
        ("lt_1m", "Less than a month"),
        ("1_6m", "1-6 months"),
        ("6_12m", "6-12 months"),
        ("1_2y", "1-2 years"),
        ("2_5y", "2-5 years"),
        ("5y_plus", "5 years or more"),
    ],
    "Time on treatment as reported: start to stop, or start to the report's last update if still using.",
)
DURATION_EDGES = (1, 6, 12, 24, 60)  # months: the lower edge of every band after the first


def duration_band(months: int) -> str:
    """The DURATION code of a number of months on treatment."""
    return DURATION.codes[bisect.bisect_right(DURATION_EDGES, months)]  # edges at or below months


SATISFACTION_MIN, SATISFACTION_MAX = 1, 10
TIPS_MAX_LENGTH = 2000

SIDE_EFFECT_STARTER_TERMS = (
    "nausea",
    "headache",
    "fatigue",
    "dizziness",
    "drowsiness",
    "insomnia",
    "weight gain",
    "weight loss",
    "dry mouth",
    "diarrhea",
    "constipation",
    "stomach pain",
    "rash",
    "itching",
    "hair loss",
    "anxiety",
    "mood changes",
    "low libido",
    "sweating",
    "muscle pain",
    "injection site reaction",
    "brain fog",
)


def side_effect_label(term: str) -> str:
    """A side-effect term as shown: a starter term capitalised, in the reader's language; a participant's own as typed."""
    shown = term[:1].upper() + term[1:]
    return i18n.gettext(shown) if term in SIDE_EFFECT_STARTER_TERMS else shown


# --- a doctor rating (CG-CAHPS) ---------------------------------------------------------

FREQUENCY = _scale(
    "frequency",
    [
        ("never", "Never"),
        ("sometimes", "Sometimes"),
        ("usually", "Usually"),
        ("always", "Always"),
    ],
    "How often, in the CG-CAHPS wording.",
    "CG-CAHPS",
)

DOCTOR_RECOMMEND = _scale(
    "would_recommend",
    [
        ("definitely_no", "Definitely no"),
        ("probably_no", "Probably no"),
        ("probably_yes", "Probably yes"),
        ("definitely_yes", "Definitely yes"),
    ],
    "Thinking of this doctor alone, not the practice or clinic.",
    "CAHPS",
)

OVERALL_MIN, OVERALL_MAX = 0, 10
TOP_BOX_MIN = 9
KNOWLEDGE_MIN, KNOWLEDGE_MAX = 1, 5
COMMENT_MAX_LENGTH = 2000


def age_band(birth_year: int | None, at_year: int) -> str | None:
    """The age band of someone born in birth_year, in at_year."""
    if birth_year is None:
        return None
    age = at_year - birth_year
    if age < 18:
        return "under_18"
    if age < 30:
        return "18_29"
    if age < 45:
        return "30_44"
    if age < 65:
        return "45_64"
    return "65_plus"


def years_since_diagnosis(diagnosed_year: int | None, at_year: int) -> str | None:
    """The years-since-diagnosis band for a diagnosis in diagnosed_year, in at_year."""
    if diagnosed_year is None:
        return None
    years = at_year - diagnosed_year
    if years < 1:
        return "lt_1"
    if years < 5:
        return "1_5"
    if years < 10:
        return "5_10"
    return "10_plus"


# --- moderation -----------------------------------------------------------------------

FLAG_REASON = _scale(
    "flag_reason",
    [
        ("misinformation", "Misinformation or dangerous advice"),
        ("spam", "Spam or advertising"),
        ("abuse", "Abuse or harassment"),
        ("identifying", "Identifying information"),
        ("other", "Something else"),
    ],
    "Why a participant flagged a tip, comment or catalog entry for a moderator.",
)

TEXT_STATE = _scale(
    "text_state",
    [
        ("public", "Public"),
        ("held", "Held for review"),
        ("hidden", "Hidden by a moderator"),
    ],
    "Whether a tip or comment is shown: held text (an email, phone number or link) and hidden "
    "text appear nowhere public and are never exported; the structured answers still count.",
)


# --- field lists: field -> codes in scale order, the one definition every layer reads ------------

# The experience answers on a scale (the report distributions, the API's and codebook's shapes).
EXPERIENCE_CODES: dict[str, tuple[str, ...]] = {
    "effectiveness": EFFECTIVENESS.codes,
    "side_effect_severity": SIDE_EFFECT_SEVERITY.codes,
    "adherence": ADHERENCE.codes,
    "burden": BURDEN.codes,
    "cost_per_month": COST_PER_MONTH.codes,
    "insurance_coverage": INSURANCE_COVERAGE.codes,
    "would_recommend": WOULD_RECOMMEND.codes,
    "satisfaction": tuple(str(n) for n in range(SATISFACTION_MIN, SATISFACTION_MAX + 1)),
}
# Everything the report tables count per experience: the answers, the duration band, the stop reasons.
COUNTED_CODES: dict[str, tuple[str, ...]] = {
    **EXPERIENCE_CODES,
    "duration": DURATION.codes,
    "stop_reasons": STOP_REASON.codes,
}
# CAHPS-style communication items of a doctor rating, each answered on FREQUENCY.
COMMUNICATION_ITEMS = ("explained_clearly", "listened_carefully", "showed_respect", "spent_enough_time")
# The other counted answers of a doctor rating.
RATING_CODES: dict[str, tuple[str, ...]] = {
    "got_appointment": FREQUENCY.codes,
    "would_recommend": DOCTOR_RECOMMEND.codes,
    "knowledge": tuple(str(n) for n in range(KNOWLEDGE_MIN, KNOWLEDGE_MAX + 1)),
    "overall": tuple(str(n) for n in range(OVERALL_MIN, OVERALL_MAX + 1)),
}
# Every counted field of a doctor rating with its codes: the histograms a doctor's score is computed from.
RATING_COUNTED_CODES: dict[str, tuple[str, ...]] = {
    **RATING_CODES,
    **{item: FREQUENCY.codes for item in COMMUNICATION_ITEMS},
}


def all_scales() -> list[Scale]:
    """Every scale defined here, in the order of the module (the codebook's and the extractor's)."""
    return [value for value in globals().values() if isinstance(value, Scale)]
