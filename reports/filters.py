""" "Patients like me" filters: role, age band, sex, years since diagnosis (one value each)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from scales import AGE_BAND, ROLE, SEX, YEARS_SINCE_DIAGNOSIS, Scale
from scales.i18n import N_, gettext

FILTER_SCALES: dict[str, Scale] = {
    "role": ROLE,
    "age_band": AGE_BAND,
    "sex": SEX,
    "years_since_diagnosis": YEARS_SINCE_DIAGNOSIS,
}
# Each dimension in words, as an error message names it.
FILTER_NAMES = {
    "role": N_("role"),
    "age_band": N_("age band"),
    "sex": N_("sex"),
    "years_since_diagnosis": N_("years since diagnosis"),
}


@dataclass(frozen=True)
class Filters:
    """Codes to keep per dimension; an empty tuple keeps everyone."""

    role: tuple[str, ...] = ()
    age_band: tuple[str, ...] = ()
    sex: tuple[str, ...] = ()
    years_since_diagnosis: tuple[str, ...] = ()

    def active(self) -> dict[str, tuple[str, ...]]:
        """The dimensions that filter anything."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def __bool__(self) -> bool:
        return bool(self.active())

    def as_dict(self) -> dict[str, list[str]]:
        """Every dimension with its codes (JSON shape)."""
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    def query_args(self) -> list[tuple[str, str]]:
        """(name, code) pairs for a URL query string."""
        return [(name, code) for name, codes in self.active().items() for code in codes]


class FilterError(ValueError):
    """A filter code outside its scale."""


def parse_filters(args) -> Filters:
    """Filters from a multi-dict of query arguments (``getlist``); raise FilterError on bad codes."""
    values = {}
    for name, scale in FILTER_SCALES.items():
        codes = tuple(dict.fromkeys(code for code in args.getlist(name) if code != ""))
        bad = [code for code in codes if code not in scale]
        if bad:
            raise FilterError(
                gettext(
                    "%(name)s must be one of %(codes)s; got %(bad)s.",
                    name=name,
                    codes=", ".join(scale.codes),
                    bad=", ".join(bad),
                )
            )
        # Every code of a dimension selected is the same as none: it filters nothing.
        if len(codes) == len(scale):
            codes = ()
        # One value per dimension bounds how many published views can contain one person
        # (16 per treatment), which is what keeps averaging their noise from revealing anyone.
        if len(codes) > 1:
            raise FilterError(
                gettext(
                    "Choose one %(name)s at a time; got %(codes)s.",
                    name=gettext(FILTER_NAMES[name]),
                    codes=", ".join(codes),
                )
            )
        values[name] = codes
    return Filters(**values)
