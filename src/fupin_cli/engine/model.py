"""Pydantic models of a rule pack (``docs/rule-packs.md``).

The models validate the *shape* of the YAML (``extra="forbid"``, a discriminated union on
``kind``); expressions stay strings here and are parsed and type-checked by the loader.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, field_validator

FIELD_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _id_text(v: str) -> str:
    if not FIELD_ID.match(v):
        raise ValueError("id must match [a-z][a-z0-9_]* (lower-case English, digits, '_')")
    return v


def _condition_text(v: Any) -> Any:
    """`when: true` / `deprived: false` in YAML reach the model as booleans: the expression text."""
    return ("true" if v else "false") if isinstance(v, bool) else v


def in_force(from_: int | None, until: int | None, year: int) -> bool:
    """A dated entry (`from:` … `until:`, both inclusive, either open) is in force in ``year``."""
    return (from_ is None or from_ <= year) and (until is None or year <= until)


# the id of a rule, derived field, MPI indicator or fund item
Id = Annotated[str, AfterValidator(_id_text)]
# an expression text of a condition (`when:`, `deprived:`)
Condition = Annotated[str, BeforeValidator(_condition_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)


# ---------------------------------------------------------------------------------------
# pack:
# ---------------------------------------------------------------------------------------
class PackMeta(_Strict):
    name: str
    version: str
    title: str = ""
    extends: str | None = None
    region: str = "国家"
    regions: dict[str, str] = Field(default_factory=dict)  # region → parent
    description: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    disable: list[str] = Field(default_factory=list)
    max_secondary_causes: int = Field(2, ge=0, le=11)
    # the years the pack's policy covers (its era); a run outside them is a RuleError naming the note
    valid_from: int | None = Field(None, ge=1949, le=2100)
    valid_until: int | None = Field(None, ge=1949, le=2100)
    validity_note: str = ""
    # YAML files (paths relative to the pack folder) whose `derived:` and `parameters:` are read as
    # this pack's own, before its files: packs share definitions instead of copying them
    include: list[str] = Field(default_factory=list)
    # fields (roster or derived) without which the pack cannot run: their absence stops the run
    required: list[str] = Field(default_factory=list)
    # exception / "where recorded" fields (送教上门, 豁免车辆类型, 安置房, 大病保险 …): a roster without the
    # column is read as blank cells (the pack's meaning) instead of leaving the rule not evaluated
    optional: list[str] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v


# ---------------------------------------------------------------------------------------
# parameters:
# ---------------------------------------------------------------------------------------
Scalar = bool | int | float | str


class ParamEntry(_Strict):
    year: int = Field(ge=1949, le=2100)
    until: int | None = Field(None, ge=1949, le=2100)  # last year the value is in force (default: until a later value)
    region: str | None = None  # None → the pack's default region
    value: Scalar | list[Scalar]
    source: str | None = None
    note: str | None = None
    verified: bool = True


class Parameter(_Strict):
    label: str | None = None  # required unless it overrides a base pack's parameter
    unit: str | None = None
    description: str = ""
    source: str | None = None  # default source for its values
    values: list[ParamEntry] = Field(min_length=1)


# ---------------------------------------------------------------------------------------
# derived:
# ---------------------------------------------------------------------------------------
class _DerivedBase(_Strict):
    id: Id
    label: str | None = None
    description: str = ""


class DerivedAgg(_DerivedBase):
    over: Literal["members"]
    agg: Literal["count", "any", "all", "sum", "min", "max"]
    where: str | None = None
    of: str | None = None


class DerivedExpr(_DerivedBase):
    expr: str


def _derived_kind(v: Any) -> str:
    if isinstance(v, dict) and ("over" in v or "agg" in v):
        return "agg"
    return "expr"


Derived = Annotated[Annotated[DerivedAgg, Tag("agg")] | Annotated[DerivedExpr, Tag("expr")], Discriminator(_derived_kind)]


# ---------------------------------------------------------------------------------------
# rules:
# ---------------------------------------------------------------------------------------
Severity = Literal["error", "warning", "info"]


class _RuleBase(_Strict):
    id: Id
    label: str
    description: str = ""
    source: str | None = None
    from_: int | None = Field(None, alias="from", ge=1949, le=2100)
    until: int | None = Field(None, ge=1949, le=2100)
    when: Condition | None = None

    def active(self, year: int) -> bool:
        return in_force(self.from_, self.until, year)

    @property
    def level(self) -> str:
        """households | members | village | county: the frame the rule is evaluated on."""
        return "households"


class CriterionRule(_RuleBase):
    kind: Literal["criterion"]
    mode: Literal["all", "any"] = "all"


# How a rule acts on the identification status, as written in `mode:` (exclusions) or
# `value:` (status rules), directly or through a text parameter (`param.NAME`) so that a
# province or a year can switch it: the word → the status it gives (None: the rule is off).
MODE_STATUS: dict[str, str | None] = {"veto": "非贫困户", "review": "待核实", "poor": "贫困户", "ignore": None}
EXCLUSION_MODES = ("veto", "review", "ignore")
# text appended to a rule's reason when it acts through a mode word
MODE_SUFFIX: dict[str, str] = {"review": "，提交民主评议", "poor": "，按必须纳入情形识别"}


def param_ref(text: str | None) -> str | None:
    """``'param.NAME'`` → ``'NAME'``; anything else → None."""
    if isinstance(text, str) and text.startswith("param.") and FIELD_ID.match(text[6:]):
        return text[6:]
    return None


class ExclusionRule(_RuleBase):
    kind: Literal["exclusion"]
    # veto: 一票否决 (非贫困户); review: 待核实 for 民主评议; ignore: off; or param.NAME giving one of them
    mode: str = "veto"


class StatusRule(_RuleBase):
    kind: Literal["status"]
    value: str  # a status (贫困户/待核实/非贫困户), a mode word (review/poor/veto/ignore) or param.NAME
    priority: int = 100
    unless_excluded: bool = False  # never overrides a household that an exclusion (veto or review) hit


class AttributeRule(_RuleBase):
    kind: Literal["attribute"]
    value: str
    priority: int = 100
    default: bool = False


class CauseRule(_RuleBase):
    kind: Literal["cause"]
    cause: str
    priority: int = 100


class CauseCheckRule(_RuleBase):
    kind: Literal["cause_check"]
    cause: str
    message: str
    severity: Severity = "warning"


class MeasureRule(_RuleBase):
    kind: Literal["measure"]
    cause: str
    measures: list[str] = Field(min_length=1)
    category: str | None = None


class HouseholdExitRule(_RuleBase):
    kind: Literal["household_exit"]


class VillageExitRule(_RuleBase):
    kind: Literal["village_exit"]

    @property
    def level(self) -> str:
        return "village"


class PoorVillageRule(_RuleBase):
    """贫困村识别 (e.g. 一高一低一无): a village is a 贫困村 when every rule of the kind holds."""

    kind: Literal["poor_village"]

    @property
    def level(self) -> str:
        return "village"


class CountyExitRule(_RuleBase):
    kind: Literal["county_exit"]

    @property
    def level(self) -> str:
        return "county"


class MonitoringRule(_RuleBase):
    kind: Literal["monitoring"]
    category: str
    priority: int = 100


class RiskRule(_RuleBase):
    kind: Literal["risk"]
    risk_type: str


class EliminationRule(_RuleBase):
    kind: Literal["elimination"]


class EstimateRule(_RuleBase):
    kind: Literal["estimate"]
    value: str  # an expression giving a number per household
    unit: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class CheckRule(_RuleBase):
    kind: Literal["check"]
    severity: Severity = "warning"
    message: str = ""
    hint: str = ""
    over: Literal["households", "members"] = "households"
    # the built-in `validate` check (checks/catalog.py id) that implements this 疑点; such a rule has
    # no `when`/`message` of its own (nothing to edit and have ignored): the built-in reads its
    # thresholds from the pack's parameters
    builtin: str | None = None

    @property
    def level(self) -> str:
        return self.over


RULE_KINDS: dict[str, type[_RuleBase]] = {
    "criterion": CriterionRule,
    "exclusion": ExclusionRule,
    "status": StatusRule,
    "attribute": AttributeRule,
    "cause": CauseRule,
    "cause_check": CauseCheckRule,
    "measure": MeasureRule,
    "household_exit": HouseholdExitRule,
    "village_exit": VillageExitRule,
    "county_exit": CountyExitRule,
    "poor_village": PoorVillageRule,
    "monitoring": MonitoringRule,
    "risk": RiskRule,
    "elimination": EliminationRule,
    "estimate": EstimateRule,
    "check": CheckRule,
}

# Union[(A, B, …)] is Union[A, B, …], built from RULE_KINDS (ruff's UP007 fix would leave the bare tuple);
# mypy cannot follow a Union built at runtime
Rule = Annotated[  # type: ignore[valid-type]
    Union[tuple(Annotated[cls, Tag(kind)] for kind, cls in RULE_KINDS.items())],  # noqa: UP007
    Discriminator(lambda v: v.get("kind") if isinstance(v, dict) else getattr(v, "kind", None)),
]

AnyRule = (
    CriterionRule | ExclusionRule | StatusRule | AttributeRule | CauseRule | CauseCheckRule |
    MeasureRule | HouseholdExitRule | VillageExitRule | CountyExitRule | PoorVillageRule |
    MonitoringRule | RiskRule | EliminationRule | EstimateRule | CheckRule
)


# ---------------------------------------------------------------------------------------
# measures: (fupin measures — FGT against the year's line, Alkire–Foster MPI; docs/measures.md)
# ---------------------------------------------------------------------------------------
_FRACTION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


def fraction(v: Any) -> Any:
    """``1/6`` (text) → 0.1666…; numbers pass through (pydantic then checks the range)."""
    if isinstance(v, str):
        m = _FRACTION.match(v)
        if m:
            den = float(m.group(2))
            if den == 0:
                raise ValueError(f"{v!r}: division by zero")
            return float(m.group(1)) / den
        try:
            return float(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a number or a fraction such as 1/6") from None
    return v


class MpiIndicator(_Strict):
    id: Id
    label: str
    weight: float = Field(gt=0, le=1)
    deprived: Condition  # a household condition: true = deprived in this indicator
    description: str = ""

    @field_validator("weight", mode="before")
    @classmethod
    def _weight(cls, v: Any) -> Any:
        return fraction(v)


class MpiDimension(_Strict):
    id: str
    label: str
    indicators: list[MpiIndicator] = Field(min_length=1)


class MpiSpec(_Strict):
    """One dated Alkire–Foster specification: dimensions → indicators (weights sum to 1) and the cutoff k."""

    id: str
    label: str
    from_: int = Field(alias="from", ge=1949, le=2100)
    until: int | None = Field(None, ge=1949, le=2100)
    k: float = Field(gt=0, le=1)
    source: str | None = None
    verified: bool = True
    description: str = ""
    dimensions: list[MpiDimension] = Field(min_length=1)

    @field_validator("k", mode="before")
    @classmethod
    def _k(cls, v: Any) -> Any:
        return fraction(v)

    def active(self, year: int) -> bool:
        return in_force(self.from_, self.until, year)

    @property
    def indicators(self) -> list[tuple[MpiDimension, MpiIndicator]]:
        return [(d, i) for d in self.dimensions for i in d.indicators]


class MeasuresSpec(_Strict):
    """``measures:`` of a pack: which field is per-capita income, which parameter is the line, the MPI specs."""

    income: str = "income_pc"
    line: str = "poverty_line"
    mpi: list[MpiSpec] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------
# funds: (fupin funds — which households an item may go to, its standard and cap; docs/funds.md)
# ---------------------------------------------------------------------------------------
class FundStandard(_Strict):
    """The standard amount of an item: a (dated, regional) parameter, per household or per person.

    ``statuses`` limits it to households of those registry statuses (first matching standard wins)."""

    param: str
    per: Literal["household", "person"] = "household"
    statuses: list[str] = Field(default_factory=list)


class FundItem(_Strict):
    id: Id
    label: str
    aliases: list[str] = Field(default_factory=list)
    statuses: list[str] = Field(min_length=1)  # registry statuses the item may go to
    standards: list[FundStandard] = Field(default_factory=list)  # none: the amount is not checked
    cap: str | None = None  # parameter: the most one household may get for the item in one period
    period: Literal["year", "once"] = "year"  # the same household paid twice in one period is a finding
    from_: int | None = Field(None, alias="from", ge=1949, le=2100)
    until: int | None = Field(None, ge=1949, le=2100)
    source: str | None = None
    description: str = ""

    def active(self, year: int) -> bool:
        return in_force(self.from_, self.until, year)


class FundsSpec(_Strict):
    items: list[FundItem] = Field(min_length=1)
