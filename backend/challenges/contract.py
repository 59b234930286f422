"""The run contract of a phase: how a team's container is started and what it finds.

Without a ``container:`` block a phase keeps Podium's original contract: the
image's own ENTRYPOINT/CMD with no arguments, one input per case at
``/input/<case><ext>`` (several become ``<case>_0000<ext>``, ``<case>_0001<ext>``,
...), no case list, and images that declare root are refused. A phase may
choose another contract, e.g. the one TriALS ran::

    container:
      args: ["/input/cases.csv", "/input", "/output"]  # appended to ENTRYPOINT/CMD
      cases_csv: /input/cases.csv      # the case keys, one per line, no header
      input_name: "{case}_0000{ext}"   # how each case's input is named in /input
      shm_size_mb: 2048                # /dev/shm size; counted in the memory limit
      root_images: run_unprivileged    # refuse (default) | run_unprivileged

This module is the one place that knows the contract: the YAML/API model and
its validation (:class:`ContainerSpec`), the defaults, the contract a phase
really runs under (:func:`effective_contract`) and the input naming rule
(:meth:`RunContract.input_names`). The API checks images against
:func:`root_policy`; the worker stages and runs by :func:`effective_contract`.
"""

from __future__ import annotations

import posixpath
import re
import string
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: What happens to an image that declares root (no USER, ``root`` or ``0``).
RootPolicy = Literal["refuse", "run_unprivileged"]
ROOT_POLICIES: tuple[str, ...] = get_args(RootPolicy)

#: The ``/dev/shm`` size a phase gets unless it sets ``shm_size_mb``: 2 GiB (a
#: PyTorch DataLoader with 4 workers, or nnU-Net's, passes its batches through
#: /dev/shm) or half the memory limit when that is smaller, never below Docker's
#: own default of 64 MiB, which every phase had before the contract existed.
DEFAULT_SHM_MB = 2048
ENGINE_SHM_MB = 64

#: The input naming rules of the original contract.
SINGLE_INPUT_NAME = "{case}{ext}"
MULTI_INPUT_NAME = "{case}_{index}{ext}"

_FIELDS = frozenset({"case", "ext", "index"})
_SAFE_LITERAL = re.compile(r"^[A-Za-z0-9._-]*$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,250}$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
_MAX_ARGS = 64
_MAX_ARG_CHARS = 4096


class ContainerSpec(BaseModel):
    """The ``container:`` block of a phase, as written in the YAML file or sent to the API.

    Every field is optional; what is left out keeps the original contract's
    value. ``shm_size_mb`` is checked against the phase's memory limit by
    :func:`check_against_memory`, which needs the phase.
    """

    model_config = ConfigDict(extra="forbid")

    args: list[str] = Field(
        default_factory=list,
        description="Arguments appended to the image's ENTRYPOINT (or, without one, its CMD).",
    )
    cases_csv: str | None = Field(
        default=None,
        description="Where Podium writes the case keys (one per line, no header), under /input.",
    )
    input_name: str | None = Field(
        default=None,
        description="File name of a case's input in /input, from {case}, {ext} and {index}.",
    )
    shm_size_mb: int | None = Field(
        default=None, gt=0, description="Size of /dev/shm in MiB; counted in the memory limit."
    )
    root_images: RootPolicy = Field(
        default="refuse",
        description="refuse images that declare root, or run them as an unprivileged user.",
    )

    @field_validator("args")
    @classmethod
    def _check_args(cls, args: list[str]) -> list[str]:
        if len(args) > _MAX_ARGS:
            raise ValueError(f"at most {_MAX_ARGS} arguments, got {len(args)}")
        for index, arg in enumerate(args):
            if "\x00" in arg or len(arg) > _MAX_ARG_CHARS:
                raise ValueError(
                    f"argument {index} must be text without NUL bytes, at most "
                    f"{_MAX_ARG_CHARS} characters"
                )
        return args

    @field_validator("cases_csv")
    @classmethod
    def _check_cases_csv(cls, path: str | None) -> str | None:
        if path is None:
            return None
        parts = path.split("/")
        if (
            not path.startswith("/input/")
            or posixpath.normpath(path) != path
            or not all(_SAFE_PART.match(p) for p in parts[2:])
            or not path.endswith(".csv")
        ):
            raise ValueError(
                f"{path!r} must be a file path under /input ending in .csv, made of letters, "
                "digits, '.', '_' and '-' (e.g. /input/cases.csv)"
            )
        return path

    @field_validator("input_name")
    @classmethod
    def _check_input_name(cls, template: str | None) -> str | None:
        if template is None:
            return None
        fields: set[str] = set()
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise ValueError(f"{template!r} is not a valid name pattern ({exc})") from exc
        for literal, field, spec, conversion in parsed:
            if not _SAFE_LITERAL.match(literal):
                raise ValueError(
                    f"{template!r} may contain only letters, digits, '.', '_', '-' besides "
                    "{case}, {ext} and {index} (no '/': inputs lie directly in /input)"
                )
            if field is None:
                continue
            if field not in _FIELDS or spec or conversion:
                raise ValueError(
                    f"{template!r} uses {{{field}{'!' + conversion if conversion else ''}"
                    f"{':' + spec if spec else ''}}}; only {{case}}, {{ext}} and {{index}} "
                    "are known (e.g. '{case}_0000{ext}')"
                )
            fields.add(field)
        missing = [f"{{{name}}}" for name in ("case", "ext") if name not in fields]
        if missing:
            raise ValueError(
                f"{template!r} lacks {' and '.join(missing)}: a pattern needs {{case}} (names "
                "must differ between cases) and {ext} (the input's own extension, e.g. .nii.gz), "
                "e.g. '{case}_0000{ext}'"
            )
        if not _SAFE_NAME.match(_render(template, case="c", ext=".nii.gz", index=0)):
            raise ValueError(f"{template!r} must start with {{case}}, a letter or a digit")
        return template


def stored_block(spec: ContainerSpec | None) -> dict[str, Any] | None:
    """The block as stored on the phase: what the organiser set (``None``: no block)."""
    return None if spec is None else spec.model_dump(mode="json", exclude_unset=True)


def _render(template: str, *, case: str, ext: str, index: int) -> str:
    return template.format(case=case, ext=ext, index=f"{index:04d}")


def default_shm_mb(memory_limit_mb: int) -> int:
    """The ``/dev/shm`` size of a phase that does not set ``shm_size_mb``.

    Examples
    --------
    >>> default_shm_mb(16384), default_shm_mb(3000), default_shm_mb(128)
    (2048, 1500, 64)
    """
    return min(DEFAULT_SHM_MB, max(ENGINE_SHM_MB, memory_limit_mb // 2))


def check_against_memory(spec: ContainerSpec | None, *, memory_limit_mb: int) -> None:
    """Refuse a ``shm_size_mb`` the memory limit cannot hold.

    Files in ``/dev/shm`` are memory: their pages are charged to the
    container's memory limit, so a ``/dev/shm`` as large as the limit would let
    shared memory alone get the container killed.

    Raises
    ------
    ValueError
        Naming the key, both sizes and what to change.
    """
    if spec is None or spec.shm_size_mb is None:
        return
    if spec.shm_size_mb >= memory_limit_mb:
        raise ValueError(
            f"container.shm_size_mb ({spec.shm_size_mb} MiB) must be smaller than the phase's "
            f"memory_limit_mb ({memory_limit_mb} MiB): files in /dev/shm are counted in the "
            "memory limit; raise memory_limit_mb or lower shm_size_mb"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContract:
    """The contract a phase's containers really run under (every default filled in).

    Attributes
    ----------
    args
        Appended to the image's ENTRYPOINT, or to its CMD when it has no
        ENTRYPOINT (Docker's own rule for ``docker run IMAGE ARGS``).
    cases_csv
        Path in the container of the case list, or ``None`` for none.
    input_name
        The organiser's naming pattern, or ``None`` for the original rule.
    shm_size_mb
        Size of ``/dev/shm``.
    root_images
        The root policy.
    """

    args: tuple[str, ...] = ()
    cases_csv: str | None = None
    input_name: str | None = None
    shm_size_mb: int = ENGINE_SHM_MB
    root_images: RootPolicy = "refuse"

    def input_names(self, case_key: str, extensions: list[str]) -> list[str]:
        """The names a case's input files get in ``/input``, in input order.

        Examples
        --------
        >>> RunContract().input_names("c7", [".nii.gz"])
        ['c7.nii.gz']
        >>> RunContract().input_names("c7", [".nii.gz", ".mha"])
        ['c7_0000.nii.gz', 'c7_0001.mha']
        >>> RunContract(input_name="{case}_0000{ext}").input_names("c7", [".nii.gz"])
        ['c7_0000.nii.gz']

        Raises
        ------
        ValueError
            The pattern gives two inputs of the case the same name (it lacks
            ``{index}`` and the case has several inputs).
        """
        if self.input_name is not None:
            template = self.input_name
        else:
            template = SINGLE_INPUT_NAME if len(extensions) == 1 else MULTI_INPUT_NAME
        names = [
            _render(template, case=case_key, ext=ext, index=i) for i, ext in enumerate(extensions)
        ]
        if len(set(names)) != len(names):
            raise ValueError(
                f"container.input_name {template!r} gives the {len(names)} inputs of case "
                f"{case_key} the same name; add {{index}} to it (e.g. '{{case}}_{{index}}{{ext}}')"
            )
        return names

    def describe(self) -> dict[str, Any]:
        """The contract as the API shows it (``input_name`` ``None``: the original rule)."""
        return {
            "args": list(self.args),
            "cases_csv": self.cases_csv,
            "input_name": self.input_name,
            "shm_size_mb": self.shm_size_mb,
            "root_images": self.root_images,
        }


class _PhaseLike(Protocol):
    container: dict[str, Any] | None
    memory_limit_mb: int


def contract_of(container: dict[str, Any] | None, *, memory_limit_mb: int) -> RunContract:
    """The contract for a stored ``container`` block (``None``: the original contract)."""
    spec = ContainerSpec.model_validate(container or {})
    return RunContract(
        args=tuple(spec.args),
        cases_csv=spec.cases_csv,
        input_name=spec.input_name,
        shm_size_mb=spec.shm_size_mb or default_shm_mb(memory_limit_mb),
        root_images=spec.root_images,
    )


def effective_contract(phase: _PhaseLike) -> RunContract:
    """The contract ``phase``'s containers run under."""
    return contract_of(phase.container, memory_limit_mb=phase.memory_limit_mb)


def root_policy(phase: _PhaseLike) -> RootPolicy:
    """Whether ``phase`` refuses images that declare root or runs them unprivileged."""
    return effective_contract(phase).root_images
