"""The interaction catalogue: which concomitant medicines the co-medication rules care about.

A catalogue is data of a criteria version (see ``versions/*.json``): drug classes, each judged by one
criterion code and matched by ATC prefix, and substances, matched by their current and legacy ATC codes and by
their names and brands. Clinicians write names and legacy data carry old codes (DOMAIN.md, "Drug classes"), so a
medicine is recognised by its code **or** by any name or brand found in what was written, ignoring case,
accents, punctuation and strength ("ROACTEMRA 20 mg/ml", " Tocilizumab ", "Théo-Dur").

A complete ATC code that names no catalogued substance is still recognised when it falls in a class's prefix
(a future L04AC code is an interleukin inhibitor) or, outside the groups that hold interleukin or JAK
inhibitors beside other medicines (``atc_code_recognition``), as a medicine no rule concerns. Topical forms of a
systemic substance (ruxolitinib cream) are their own substance, in a class marked ``topical``: a written name
with a topical word ("ruxolitinib crema 1,5%") is the topical form, never the systemic one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from .types import ConcomitantMedication

_WORD = re.compile(r"[^\W_]+")
# The longest name or brand, in words, that a written medicine may spread over ("certolizumab pegol").
_MAX_TERM_WORDS = 4
# A complete (substance-level) ATC code: L04AC07.
_COMPLETE_ATC = re.compile(r"^[ABCDGHJLMNPRSV]\d{2}[A-Z]{2}\d{2}$")


def name_words(text: str) -> tuple[str, ...]:
    """The words of a written name, case-folded, without accents or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text)
    unaccented = "".join(char for char in decomposed if not unicodedata.combining(char))
    return tuple(_WORD.findall(unaccented.casefold()))


def name_key(text: str) -> str:
    """The form a name or brand is looked up by: its words run together ("Theo-Dur" -> "theodur")."""
    return "".join(name_words(text))


def normalise_atc(code: str | None) -> str:
    return re.sub(r"\s+", "", code or "").upper()


@dataclass(frozen=True)
class DrugClass:
    """A class of medicines and the criterion that judges it (``None``: known, and no rule applies)."""

    key: str
    criterion: str | None
    atc_prefixes: tuple[str, ...]
    default_washout_days: int
    note: str = ""
    topical: bool = False  # a topical form: warned about, never blocking


@dataclass(frozen=True)
class Substance:
    """An active substance; ``atc_codes[0]`` is its current code, the others legacy or alternative ones."""

    name: str
    drug_class: str
    atc_codes: tuple[str, ...]
    synonyms: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    washout_days: int | None = None
    note: str = ""
    # Where the window comes from: five terminal half-lives, from the SmPC named here.
    washout_source: str = ""
    # The systemic substance this is a topical form of (ruxolitinib cream: "ruxolitinib").
    topical_form_of: str | None = None

    @property
    def atc_code(self) -> str:
        return self.atc_codes[0]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms, *self.brands)

    @property
    def generic_names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)


@dataclass(frozen=True)
class AtcCodeRecognition:
    """A complete ATC code outside every class prefix and outside ``ambiguous_prefixes`` is known by its code
    alone, as a medicine of ``drug_class`` (no rule applies). Under an ambiguous group (one that holds
    interleukin or JAK inhibitors beside other medicines, or their legacy codes) only a catalogued substance is
    recognised."""

    drug_class: str
    ambiguous_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogueMatch:
    """What a written medicine was recognised as, with the names to show back and the window to apply."""

    drug_class: DrugClass
    substance: Substance | None
    display_name: str
    atc_code: str
    washout_days: int
    # The ATC group (a class prefix, "L04AC") a code was recognised by when it names no catalogued substance.
    atc_group: str | None = None


@dataclass(frozen=True)
class Catalogue:
    drug_classes: tuple[DrugClass, ...]
    substances: tuple[Substance, ...]
    atc_code_recognition: AtcCodeRecognition | None = None
    # Words that make a written name a topical form ("ruxolitinib cream", "ruxolitinib crema").
    topical_words: tuple[str, ...] = ()

    def drug_class(self, key: str) -> DrugClass:
        return self._classes_by_key[key]

    def classes_judged_by(self, criterion: str) -> tuple[DrugClass, ...]:
        return tuple(drug_class for drug_class in self.drug_classes if drug_class.criterion == criterion)

    def substance(self, name: str) -> Substance:
        return self._substances_by_name[name_key(name)]

    def identify(self, medication: ConcomitantMedication) -> tuple[CatalogueMatch, ...]:
        """Everything ``medication`` is recognised as; empty when the catalogue does not know it.

        Code and name are both tried: a wrong or legacy code next to a recognisable name still matches, and a
        medicine written as "tocilizumab" with the code of warfarin is both. A code inside a class's ATC
        prefix that names no listed substance matches the class itself, with the class's default window; a
        complete code outside them is known by ``atc_code_recognition``. A systemic substance named by its
        generic name is replaced by its topical form when the name carries a topical word or the code is
        the topical form's; never when its code or a brand of it names the systemic form.
        """
        atc_code = normalise_atc(medication.atc_code)
        by_code = self._substances_by_code.get(atc_code) if atc_code else None
        substances = [by_code] if by_code else []
        words = set(name_words(medication.name or ""))
        topical_written = bool(words & {name_key(word) for word in self.topical_words})
        for substance, by_generic_name in self._substances_in_name(medication.name or ""):
            topical = self._topical_forms.get(substance.name)
            if topical is not None and by_generic_name and substance is not by_code:
                if topical is by_code:
                    continue  # "ruxolitinib" with the cream's code: the cream
                if topical_written:
                    substance = topical
            if substance not in substances:
                substances.append(substance)

        matches = [
            CatalogueMatch(
                drug_class=self._classes_by_key[substance.drug_class],
                substance=substance,
                display_name=substance.name,
                atc_code=atc_code if substance is by_code else substance.atc_code,
                washout_days=self.washout_days(substance),
            )
            for substance in substances
        ]
        if atc_code and by_code is None:
            group = self._class_prefix(atc_code)
            drug_class = self._classes_by_key[group[1]] if group else self._class_by_complete_code(atc_code)
            if drug_class and all(substance.drug_class != drug_class.key for substance in substances):
                matches.append(
                    CatalogueMatch(
                        drug_class=drug_class,
                        substance=None,
                        display_name=medication.label,
                        atc_code=atc_code,
                        washout_days=drug_class.default_washout_days,
                        atc_group=group[0] if group else None,
                    )
                )
        return tuple(matches)

    def ambiguous_group(self, atc_code: str | None) -> str | None:
        """The group of ``atc_code`` that holds interleukin or JAK inhibitors beside other medicines ("L04A"), when
        the code is complete and lies in one: a code that only the prescriber's confirmation can clear."""
        recognition = self.atc_code_recognition
        code = normalise_atc(atc_code)
        if recognition is None or not _COMPLETE_ATC.match(code):
            return None
        return next((prefix for prefix in recognition.ambiguous_prefixes if code.startswith(prefix)), None)

    @staticmethod
    def is_complete_atc(atc_code: str | None) -> bool:
        return bool(_COMPLETE_ATC.match(normalise_atc(atc_code)))

    def washout_days(self, substance: Substance) -> int:
        if substance.washout_days is not None:
            return substance.washout_days
        return self._classes_by_key[substance.drug_class].default_washout_days

    def validate(self) -> None:
        """Raise ``ValueError`` unless the catalogue is consistent: every name and code means one thing."""
        if len(self._classes_by_key) != len(self.drug_classes):
            raise ValueError("drug class keys must be unique")
        seen_names: dict[str, str] = {}
        seen_codes: dict[str, str] = {}
        for drug_class in self.drug_classes:
            if drug_class.default_washout_days < 0:
                raise ValueError(f"{drug_class.key}: negative default washout")
        for substance in self.substances:
            if substance.drug_class not in self._classes_by_key:
                raise ValueError(f"{substance.name}: unknown drug class {substance.drug_class!r}")
            if not substance.atc_codes:
                raise ValueError(f"{substance.name}: at least one ATC code is needed")
            if substance.washout_days is not None and substance.washout_days < 0:
                raise ValueError(f"{substance.name}: negative washout")
            for name in substance.names:
                key = name_key(name)
                if not key or len(name_words(name)) > _MAX_TERM_WORDS:
                    raise ValueError(f"{substance.name}: unusable name {name!r}")
                if seen_names.setdefault(key, substance.name) != substance.name:
                    raise ValueError(f"{name!r} names both {seen_names[key]} and {substance.name}")
            drug_class = self._classes_by_key[substance.drug_class]
            if drug_class.criterion is not None and not substance.washout_source:
                raise ValueError(f"{substance.name}: a washout window needs its source (the SmPC)")
            if (
                drug_class.criterion is not None
                and substance.washout_days is not None
                and substance.washout_days > drug_class.default_washout_days
            ):
                raise ValueError(
                    f"{drug_class.key}: the default window must be the longest member's ({substance.name})"
                )
            if substance.topical_form_of is not None:
                systemic = self._substances_by_name.get(name_key(substance.topical_form_of))
                if systemic is None or systemic.name != substance.topical_form_of:
                    raise ValueError(f"{substance.name}: topical form of unknown {substance.topical_form_of!r}")
                if not drug_class.topical:
                    raise ValueError(f"{substance.name}: a topical form needs a topical class")
            for code in substance.atc_codes:
                if code != normalise_atc(code):
                    raise ValueError(f"{substance.name}: ATC code {code!r} is not in canonical form")
                if seen_codes.setdefault(code, substance.name) != substance.name:
                    raise ValueError(f"ATC code {code} names both {seen_codes[code]} and {substance.name}")
        recognition = self.atc_code_recognition
        if recognition is not None:
            if recognition.drug_class not in self._classes_by_key:
                raise ValueError(f"atc_code_recognition: unknown drug class {recognition.drug_class!r}")
            if self._classes_by_key[recognition.drug_class].criterion is not None:
                raise ValueError("atc_code_recognition: codes recognised alone must be of a class no rule judges")

    # -- indexes, built once per catalogue --------------------------------------------------------------

    @cached_property
    def _classes_by_key(self) -> dict[str, DrugClass]:
        return {drug_class.key: drug_class for drug_class in self.drug_classes}

    @cached_property
    def _substances_by_code(self) -> dict[str, Substance]:
        return {code: substance for substance in self.substances for code in substance.atc_codes}

    @cached_property
    def _substances_by_name(self) -> dict[str, Substance]:
        return {name_key(name): substance for substance in self.substances for name in substance.names}

    @cached_property
    def _generic_name_keys(self) -> frozenset[str]:
        return frozenset(name_key(name) for substance in self.substances for name in substance.generic_names)

    @cached_property
    def _topical_forms(self) -> dict[str, Substance]:
        """Systemic substance name -> its topical form."""
        return {substance.topical_form_of: substance for substance in self.substances if substance.topical_form_of}

    def _class_by_complete_code(self, atc_code: str) -> DrugClass | None:
        recognition = self.atc_code_recognition
        if recognition is None or not _COMPLETE_ATC.match(atc_code):
            return None
        if any(atc_code.startswith(prefix) for prefix in recognition.ambiguous_prefixes):
            return None
        return self._classes_by_key[recognition.drug_class]

    def _class_prefix(self, atc_code: str) -> tuple[str, str] | None:
        """The longest class prefix ``atc_code`` starts with, and that class's key."""
        candidates = [
            (prefix, drug_class.key)
            for drug_class in self.drug_classes
            for prefix in drug_class.atc_prefixes
            if atc_code.startswith(prefix)
        ]
        return max(candidates, key=lambda candidate: len(candidate[0])) if candidates else None

    def _substances_in_name(self, written: str) -> list[tuple[Substance, bool]]:
        """Substances whose name or brand appears in ``written`` as whole words (run together or not), the
        longest term first ("ruxolitinib cream" before "ruxolitinib"), each with whether it was named by a
        generic name (not a brand)."""
        words = name_words(written)
        found: list[tuple[Substance, bool]] = []
        start = 0
        while start < len(words):
            for end in range(min(start + _MAX_TERM_WORDS, len(words)), start, -1):
                key = "".join(words[start:end])
                substance = self._substances_by_name.get(key)
                if substance is not None:
                    if all(substance is not seen for seen, _generic in found):
                        found.append((substance, key in self._generic_name_keys))
                    start = end
                    break
            else:
                start += 1
        return found
