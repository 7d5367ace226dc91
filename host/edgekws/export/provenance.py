"""Where an imported bundle's model came from and under which terms (licence, dataset credit).

Why: a model imported with ``edgekws import`` is someone else's work, usually under a licence that
asks for its notice to travel with copies (Zlib, CC BY for the training data). A note in our docs
does not travel with a bundle someone copies or hands on, so the credit is stored in the bundle
itself: in ``bundle.json``'s ``recipe`` -- inside ``bundle_hash``, so every copy keeps it and a hand
edit is detected -- and ``edgekws report`` prints it with the source file's sha256 and the options
the import ran with. Bundles trained here have no :class:`ImportProvenance` (their recipe is not
``imported``) and get no such section -- unless their weights started from an imported bundle
(``edgekws distill --init-bundle``), whose record they then carry under ``derived_from``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from edgekws.errors import ConfigError

#: ``recipe["name"]`` of an imported bundle (written by :mod:`edgekws.export.import_tflite`).
IMPORTED = "imported"
CREDIT_FROM_FLAG = "--credit"


@dataclass(frozen=True)
class ImportProvenance:
    """The imported file (name and sha256), its credit and the import's options, as bundle.json keeps them.

    credit: licence and dataset credit, one line; ``None`` when none was given or recognised.
    credit_from: ``--credit`` or what recognised the file (e.g. the pinned MLTK file by sha256).
    options: the import's effective options as (flag, value) pairs, renames already applied,
    so the pairs read as an equivalent ``edgekws import`` command line.
    """

    source: str
    source_sha256: str
    credit: str | None = None
    credit_from: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    #: name of the imported bundle a model trained here started from (``distill --init-bundle``):
    #: its weights are a derivative of the imported model, so they carry the same credit
    derived_from: str | None = None

    def recipe_fields(self) -> dict[str, Any]:
        """The keys this record adds to an imported bundle's ``recipe``."""
        return {"source": self.source, "source_sha256": self.source_sha256, "credit": self.credit,
                "credit_from": self.credit_from, "import_options": [list(p) for p in self.options]}

    @classmethod
    def from_recipe(cls, recipe: Any) -> ImportProvenance | None:
        """The record of an imported bundle's recipe; ``None`` for a bundle trained here.

        Bundles imported before credits were recorded have no credit and no options (``None``, ``()``).
        """
        if not isinstance(recipe, dict):
            return None
        start = recipe.get("derived_from")
        if recipe.get("name") != IMPORTED and isinstance(start, dict):
            prov = cls.from_recipe(start)
            return None if prov is None else replace(prov, derived_from=str(start.get("bundle_name", "?")))
        if recipe.get("name") != IMPORTED:
            return None
        opts = recipe.get("import_options") or []
        return cls(source=str(recipe.get("source", "?")), source_sha256=str(recipe.get("source_sha256", "?")),
                   credit=recipe.get("credit"), credit_from=recipe.get("credit_from"),
                   options=tuple((str(k), str(v)) for k, v in opts))

    def command_options(self) -> str:
        """The options as one command-line fragment (values with spaces quoted)."""
        return " ".join(f"{k} {_quote(v)}" if v else k for k, v in self.options)


def _quote(value: str) -> str:
    return f"'{value}'" if any(c.isspace() for c in value) else value


def clean_credit(text: str | None) -> str | None:
    """``--credit`` as one line (a NOTICE file pasted with ``"$(cat NOTICE)"`` keeps its words)."""
    if text is None:
        return None
    line = " ".join(text.split())
    if not line:
        raise ConfigError("--credit needs text (the model's licence and its training data's credit)")
    return line


def known_credit(source_sha256: str) -> tuple[str, str] | None:
    """(credit, what recognised it) for a third-party file set-up fetches by pinned sha256, else ``None``.

    Only an exact sha256 match counts: a file that merely has the same name gets no credit it may
    not deserve.
    """
    from edgekws.export import mltk_model

    if source_sha256 == mltk_model.FILES[mltk_model.MODEL_FILE][1]:
        return (mltk_model.LICENCE_NOTE,
                f"the pinned {mltk_model.PACKAGE} {mltk_model.VERSION} {mltk_model.MODEL_FILE} (sha256 match)")
    return None
