"""Parameters of the dynamic (Inoue–Todo) engine, as data: :class:`DynamicsParams` and the
registries of its choices, :data:`RATIONING_RULES` and :data:`RECOVERY_LAWS`.

Nothing here computes; :mod:`coreatlas.analysis.dynamics` runs the model. Reading or
validating parameters (a request, a YAML file) therefore never loads the compiled kernels.

One rule lives here rather than in a front end: a recovery time given without a recovery
law means linear recovery (as in the reference simulator, where ``-c C`` alone recovers
linearly); with neither, capacity never recovers.
"""

from __future__ import annotations

from typing import Annotated

import pydantic

from coreatlas.errors import Problem, RequestError
from coreatlas.model.spec import Spec, field_problems

__all__ = [
    "DEFAULT_RECOVERY",
    "INVENTORY_DRAWS",
    "RATIONING_RULES",
    "RECOVERY_LAWS",
    "DynamicsParams",
    "default_recovery",
    "needs_recovery_days",
]

#: How a supplier short of output shares it among clients and final demand (docs/dynamics.md).
RATIONING_RULES = ("proportional", "final-demand-last", "priority", "priority-final-demand-last")
#: How lost capacity comes back (:mod:`coreatlas.analysis.recovery`).
RECOVERY_LAWS = ("none", "linear", "uniform", "immediate", "exponential", "renewal", "damped")
#: Each firm's target inventory: the same for all, or Poisson draws around it.
INVENTORY_DRAWS = ("fixed", "poisson")
#: The law a recovery time alone implies.
DEFAULT_RECOVERY = "linear"


def needs_recovery_days(law: str) -> bool:
    """True when ``law`` needs a recovery time ``C``."""
    return law not in ("none", "immediate")


def default_recovery(recovery: str | None, recovery_days: float | None) -> str:
    """The recovery law: as given, else linear when a recovery time is given, else none."""
    if recovery is not None:
        return recovery
    return DEFAULT_RECOVERY if recovery_days is not None else "none"


def _one_of(names: tuple[str, ...], label: str):
    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"{label} '{value}' is not one of {', '.join(names)}")
        return value

    return pydantic.AfterValidator(check)


def _tidy(problem: Problem) -> Problem:
    """``rationing: rationing 'x' is ...`` -> ``rationing 'x' is ...`` (the field said once)."""
    field = problem.field or ""
    head = f"{field}: {field.rsplit('.', 1)[-1]} "
    if field and problem.message.startswith(head):
        return Problem(field + problem.message[len(head) - 1 :], field=field)
    return problem


class _RaisesRequestErrors(type(Spec)):
    """Calling the class (``DynamicsParams(rationing="x")``) raises the project's
    :class:`~coreatlas.errors.RequestError`; validating it inside a request keeps pydantic's
    errors, so they carry the nested path (``params.rationing``)."""

    def __call__(cls, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except pydantic.ValidationError as exc:
            raise RequestError([_tidy(p) for p in field_problems(exc)]) from None


class DynamicsParams(Spec, metaclass=_RaisesRequestErrors):
    """Parameters of the model (defaults: the reference simulator's; its options in brackets).

    inventory_days : target inventory ``n`` in days of input use (``-i``), at least 1.
    tau_days : inventory adjustment time ``tau`` (``-T``).
    rationing : one of :data:`RATIONING_RULES` (``-R`` 0..3).
    recovery_days : ``C`` of the recovery law (``-c``).
    recovery : one of :data:`RECOVERY_LAWS` (``-b``); when not given, ``linear`` if
        ``recovery_days`` is given, else ``none`` (:func:`default_recovery`).
    recovery_delay_days : recovery starts this many days after a firm's shock (``-S``).
    inventory_draw : ``"poisson"`` draws each firm's target ``n_i ~ Poisson(n)``, redrawn
        until ``>= min_inventory_days``, with ``seed`` (``-D 2``); initial stocks equal targets.

    Invalid values raise :class:`~coreatlas.errors.RequestError` naming the field.
    """

    inventory_days: float = pydantic.Field(15.0, description="Target inventory n, days of input use (at least 1).")
    tau_days: float = pydantic.Field(6.0, gt=0, description="Inventory adjustment time tau, days.")
    rationing: Annotated[str, _one_of(RATIONING_RULES, "rationing")] = pydantic.Field(
        "proportional", json_schema_extra={"enum": list(RATIONING_RULES)}
    )
    recovery_days: float | None = pydantic.Field(None, allow_inf_nan=False, description="Recovery time C of the recovery law.")
    recovery: str | None = pydantic.Field(
        None, validate_default=True, json_schema_extra={"enum": list(RECOVERY_LAWS)},
        description="Recovery law; default linear if recovery_days is given, else none.",
    )  # fmt: skip
    recovery_delay_days: int = pydantic.Field(0, ge=0, description="Days after its shock before a firm starts to recover.")
    inventory_draw: Annotated[str, _one_of(INVENTORY_DRAWS, "inventory draw")] = pydantic.Field(
        "fixed", json_schema_extra={"enum": list(INVENTORY_DRAWS)}
    )
    min_inventory_days: int = pydantic.Field(2, ge=1, description="Floor of Poisson-drawn inventory targets.")
    seed: int = pydantic.Field(331, description="Seed of random draws (Poisson inventories).")

    @pydantic.field_validator("inventory_days")
    @classmethod
    def _inventory(cls, value: float) -> float:
        if not value >= 1:  # stocks are drawn before production: less than a day's stock cannot sustain the baseline
            raise ValueError(f"inventory_days is {value}; expected at least 1 (a day of input use)")
        return value

    @pydantic.field_validator("recovery")
    @classmethod
    def _recovery(cls, value: str | None, info: pydantic.ValidationInfo) -> str:
        days = info.data.get("recovery_days")
        law = default_recovery(value, days)
        if law not in RECOVERY_LAWS:
            raise ValueError(f"recovery '{law}' is not one of {', '.join(RECOVERY_LAWS)}")
        if needs_recovery_days(law) and not (days and days > 0):
            raise ValueError(f"recovery '{law}' needs recovery days > 0")
        return law
