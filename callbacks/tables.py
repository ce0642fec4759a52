"""The papers' tables, with our numbers beside the published ones (``lightning test``).

:class:`TableWriter` runs after the metric callbacks at the end of ``trainer.test`` (and of
a standalone ``trainer.validate``). It takes the numbers those callbacks computed in this
run (their ``history``), and writes to the run folder ``<table>.md`` and ``<table>.csv``
(e.g. ``table1.md``) and a ``wandb.Table`` to every W&B logger: the paper's rows and
columns, the published numbers (data in ``experiments/eval/<paper>.yaml``, cited by table),
our row named by the model and its checkpoint, and the protocol: the paper's, ours (each
metric callback's settings: counts, frames, seeds, split, flow estimator, recogniser), the
pretrained files with their sha256, and every deviation from the paper::

    trainer:
      callbacks+:
        - class_path: stylevideo.callbacks.tables.TableWriter
          init_args: {paper: lia, table: table1, groups: [VoxCeleb],
                      deviations: ["AKD: dlib's 68 landmarks (paper: Bulat & Tzimiropoulos)"]}

The published YAML (schema in docs/metrics.md) is read and checked when the callback is
built, so a wrong table, group or cell fails before anything is evaluated.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.trainer.states import TrainerFn

from .metric_base import MetricCallback

__all__ = ["PaperTable", "TableWriter", "load_paper_tables", "sha256_file"]

EVAL_DIR = Path(__file__).resolve().parents[1] / "experiments" / "eval"
NOT_RUN = "not run"


@dataclass(frozen=True)
class Column:
    """One column of a paper's table: a cell holds one number per metric (``format`` joins them)."""

    group: str
    name: str
    metrics: tuple[str, ...]
    parts: tuple[str, ...]
    format: str
    decimals: tuple[int | None, ...]
    scale: float = 1.0

    @property
    def header(self) -> str:
        return f"{self.group} {self.name}".strip()

    def part_headers(self) -> list[str]:
        return [f"{self.group} {p}".strip() for p in self.parts]


@dataclass(frozen=True)
class PaperTable:
    """A table of a paper as published: columns, rows of cells, citation and protocol."""

    paper: str
    key: str
    title: str
    section: str
    protocol: str
    row_header: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, tuple[Any, ...]], ...]
    transpose: bool = False

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(c.group for c in self.columns))

    def cell(self, row: str, column: str) -> Any:
        """The published cell of ``row`` under the header ``column`` (group and name)."""
        index = [c.header for c in self.columns].index(column)
        return dict(self.rows)[row][index]


def _fail(path: Path, where: str, message: str):
    raise ValueError(f"{path}: {where}: {message}")


def _column(path: Path, where: str, group: str, spec: dict) -> Column:
    if not isinstance(spec, dict) or "name" not in spec:
        _fail(path, where, f"a column is a mapping with a name, got {spec!r}")
    metrics = spec.get("metrics", [spec["metric"]] if "metric" in spec else None)
    if not metrics:
        _fail(path, where, f"column {spec['name']!r} names no metric")
    parts = spec.get("parts", [spec["name"]] if len(metrics) == 1 else None)
    fmt = spec.get("format", "{}" if len(metrics) == 1 else None)
    if parts is None or fmt is None or len(parts) != len(metrics) or fmt.count("{}") != len(metrics):
        _fail(path, where, f"column {spec['name']!r}: {len(metrics)} metrics need as many parts and '{{}}' in format")
    decimals = spec.get("decimals")
    decimals = list(decimals) if isinstance(decimals, list) else [decimals] * len(metrics)
    if len(decimals) != len(metrics):
        _fail(path, where, f"column {spec['name']!r}: decimals needs one entry per metric")
    return Column(
        group, str(spec["name"]), tuple(metrics), tuple(parts), fmt, tuple(decimals), float(spec.get("scale", 1))
    )


def _check_cell(path: Path, where: str, column: Column, cell: Any) -> Any:
    def number(v):
        if isinstance(v, dict):
            if set(v) != {"value", "note"} or not isinstance(v["value"], (int, float)):
                _fail(path, where, f"a noted cell is {{value: number, note: text}}, got {v!r}")
            return v
        if v is not None and not isinstance(v, (int, float)):
            _fail(path, where, f"column {column.header!r}: expected a number or null, got {v!r}")
        return v

    if isinstance(cell, str):
        return cell  # text as printed, e.g. "n/a"
    if len(column.metrics) == 1:
        return number(cell)
    if cell is None:
        return (None,) * len(column.metrics)
    if not isinstance(cell, list) or len(cell) != len(column.metrics):
        _fail(path, where, f"column {column.header!r} holds {len(column.metrics)} numbers per cell, got {cell!r}")
    return tuple(number(v) for v in cell)


def load_paper_tables(path: str | os.PathLike) -> dict[str, PaperTable]:
    """Read and check a published-numbers YAML (``experiments/eval/<paper>.yaml``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"published tables {path} do not exist (expected experiments/eval/<paper>.yaml)")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("tables"), dict) or "paper" not in data:
        raise ValueError(f"{path}: expected a mapping with 'paper' and 'tables'")
    out = {}
    for key, spec in data["tables"].items():
        where = f"tables.{key}"
        missing = {"title", "section", "protocol", "rows"} - set(spec)
        if missing or ("groups" in spec) == ("columns" in spec):
            _fail(path, where, f"needs title, section, protocol, rows and either groups or columns (missing {missing})")
        groups = spec.get("groups") or [{"name": "", "columns": spec["columns"]}]
        columns = tuple(_column(path, where, str(g["name"]), c) for g in groups for c in g["columns"])
        rows = []
        for i, row in enumerate(spec["rows"]):
            cells = row.get("cells")
            if not isinstance(cells, list) or len(cells) != len(columns):
                _fail(path, f"{where}.rows[{i}] ({row.get('name')})", f"expected {len(columns)} cells, got {cells!r}")
            checked = tuple(_check_cell(path, f"{where}.rows[{i}]", c, v) for c, v in zip(columns, cells, strict=True))
            rows.append((str(row["name"]), checked))
        out[key] = PaperTable(
            str(data["paper"]),
            key,
            str(spec["title"]),
            str(spec["section"]),
            " ".join(str(spec["protocol"]).split()),
            str(spec.get("row_header", "Method")),
            columns,
            tuple(rows),
            bool(spec.get("transpose", False)),
        )
    return out


def sha256_file(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


# --- rendering ----------------------------------------------------------------------------


def _number(value: float, decimals: int | None, ours: bool) -> str:
    if isinstance(value, int) and not ours:
        return str(value)  # the paper printed an integer
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:.4g}" if ours else str(value)


def _published_parts(column: Column, cell: Any) -> list[Any]:
    return list(cell) if len(column.metrics) > 1 else [cell]


def _render_published(column: Column, cell: Any) -> str:
    if isinstance(cell, str):
        return cell
    parts = _published_parts(column, cell)
    if all(p is None for p in parts):
        return "-"
    texts = []
    for p, d in zip(parts, column.decimals, strict=True):
        if p is None:
            texts.append("-")
        elif isinstance(p, dict):
            texts.append(f"{_number(p['value'], d, False)} {p['note']}")
        else:
            texts.append(_number(p, d, False))
    return column.format.format(*texts)


def _csv_published(column: Column, cell: Any) -> list[Any]:
    if isinstance(cell, str):
        return [cell] * len(column.metrics)
    return [p["value"] if isinstance(p, dict) else p for p in _published_parts(column, cell)]


def _ours(column: Column, results: dict[str, float]) -> tuple[str, list[float | None]]:
    values = [results.get(m) for m in column.metrics]
    if all(v is None for v in values):
        return NOT_RUN, [None] * len(values)
    scaled = [None if v is None else v * column.scale for v in values]
    texts = ["-" if v is None else _number(v, d, True) for v, d in zip(scaled, column.decimals, strict=True)]
    return column.format.format(*texts), scaled


def render_grids(
    table: PaperTable, name: str, results: dict[str, float], groups: list[str]
) -> tuple[list[list[str]], list[list[Any]]]:
    """(markdown cells, CSV cells) with a header row; our row fills the columns of ``groups``.

    The markdown grid has the paper's cells (several numbers in one cell where the paper
    has them); the CSV grid one number per column, ``<group> <part>`` as header.
    """
    md = [[table.row_header, *[c.header for c in table.columns]]]
    flat = [[table.row_header, *[h for c in table.columns for h in c.part_headers()]]]
    for row, cells in table.rows:
        md.append([row, *[_render_published(c, v) for c, v in zip(table.columns, cells, strict=True)]])
        flat.append([row, *[x for c, v in zip(table.columns, cells, strict=True) for x in _csv_published(c, v)]])
    md_ours, flat_ours = [name], [name]
    for column in table.columns:
        if column.group in groups:
            text, values = _ours(column, results)
        else:
            text, values = "", [None] * len(column.metrics)
        md_ours.append(text)
        flat_ours.extend(values)
    md.append(md_ours)
    flat.append(flat_ours)
    if table.transpose:
        md, flat = [list(r) for r in zip(*md, strict=True)], [list(r) for r in zip(*flat, strict=True)]
    return md, flat


def markdown_table(grid: list[list[str]]) -> str:
    """A GitHub markdown table of ``grid`` (first row: header)."""
    lines = ["| " + " | ".join(grid[0]) + " |", "|" + " --- |" * len(grid[0])]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in grid[1:]])


# --- the callback -------------------------------------------------------------------------


def _settings(callback: Callback) -> dict[str, Any]:
    """A callback's constructor arguments as it keeps them (``self.<name>``)."""
    skip = {"self", "kwargs", "extractors", "weights", "every_n_steps", "every_n_epochs", "on_test", "prefix"}
    out = {}
    for cls in type(callback).__mro__:
        if not issubclass(cls, MetricCallback) or "__init__" not in vars(cls):
            continue
        for name in inspect.signature(cls.__init__).parameters:
            if name not in skip and name not in out and hasattr(callback, name):
                out[name] = getattr(callback, name)
    return out


class TableWriter(Callback):
    """Writes one table of a paper with our numbers (see the module docstring).

    Args:
        paper: ``lia``, ``onestyle``, ``styleinv`` or ``vidstyleode`` (``experiments/eval/<paper>.yaml``),
            or the path of a published-numbers YAML.
        table: the table's key in that file (``table1``, ``fig5a``, ...): the output file stem.
        groups: the column groups our row fills (e.g. ``[VoxCeleb]``); tables without groups: none.
        name: our row's name (default: the module's class and the tested checkpoint's file).
        metric_names: the YAML's metric key -> the name this run logs (e.g. ``{fvd: fvd2048_36f_subsample3f}``).
        weights: loader names of pretrained files the numbers depend on, besides those of the
            metric callbacks (their ``weights``, and ``required_weights()`` where they declare it),
            all hashed into the protocol.
        deviations: where this run's protocol differs from the paper's (one line each).
        folder: output folder (default: the run folder, ``trainer.default_root_dir``).
    """

    def __init__(
        self,
        paper: str,
        table: str,
        groups: list[str] | None = None,
        name: str | None = None,
        metric_names: dict[str, str] | None = None,
        weights: list[str] | None = None,
        deviations: list[str] | None = None,
        folder: str | None = None,
    ):
        path = Path(paper) if paper.endswith((".yaml", ".yml")) else EVAL_DIR / f"{paper}.yaml"
        tables = load_paper_tables(path)
        if table not in tables:
            raise ValueError(f"{path} has no table {table!r}; it has {sorted(tables)}")
        self.table, self.path = tables[table], path
        known = self.table.groups
        self.groups = list(groups or [])
        if known == [""]:
            if self.groups:
                raise ValueError(f"{path}: {table} has no column groups; drop groups={self.groups}")
            self.groups = [""]
        elif not self.groups or set(self.groups) - set(known):
            raise ValueError(f"{path}: {table} needs groups from {known} (the columns our row fills), got {groups}")
        self.name, self.metric_names = name, dict(metric_names or {})
        self.weights, self.deviations, self.folder = list(weights or []), list(deviations or []), folder

    # -- when ---------------------------------------------------------------------------------
    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.write(trainer, pl_module, "test")

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.state.fn == TrainerFn.VALIDATING and not trainer.sanity_checking:
            self.write(trainer, pl_module, "validate")

    # -- what ---------------------------------------------------------------------------------
    @staticmethod
    def metric_callbacks(trainer: Trainer) -> list[MetricCallback]:
        return [c for c in trainer.callbacks if isinstance(c, MetricCallback)]

    def results(self, trainer: Trainer, stage: str) -> dict[str, float]:
        """This run's numbers under the YAML's metric keys: each callback's latest ``stage`` record."""
        merged: dict[str, float] = {}
        for callback in self.metric_callbacks(trainer):
            records = [r for r in callback.history if r["stage"] == stage]
            if records:
                merged.update(records[-1]["metrics"])
        renamed = {key: merged[logged] for key, logged in self.metric_names.items() if logged in merged}
        return {**merged, **renamed}

    def row_name(self, trainer: Trainer, pl_module: LightningModule) -> str:
        if self.name:
            return self.name
        ckpt = Path(str(trainer.ckpt_path)).name if trainer.ckpt_path else "no checkpoint"
        return f"ours: {type(pl_module).__name__} ({ckpt})"

    def protocol(self, trainer: Trainer, pl_module: LightningModule) -> list[str]:
        """The protocol lines: the paper's, the data, each metric callback, files and hashes, deviations."""
        t = self.table
        lines = [
            f"Published: {t.paper}, {t.key} (section {t.section}); numbers from {self.path.name}.",
            f"Paper's protocol: {t.protocol}",
        ]
        if trainer.ckpt_path and Path(str(trainer.ckpt_path)).is_file():
            lines.append(f"Checkpoint: {trainer.ckpt_path} (sha256 {sha256_file(trainer.ckpt_path)})")
        dm = trainer.datamodule
        if dm is not None:
            root, resolution = getattr(dm, "root", None), getattr(dm, "resolution", "?")
            line = f"Data: {type(dm).__name__} at {root}, resolution {resolution}"
            if callable(getattr(dm, "records", None)):
                counts = {split: len(dm.records(split)) for split in ("train", "val", "test")}
                line += ", videos per split " + ", ".join(f"{k} {v}" for k, v in counts.items())
            lines.append(line)
        deviations = list(self.deviations)
        files = {name: None for name in self.weights}
        for callback in self.metric_callbacks(trainer):
            settings = ", ".join(f"{k}={v}" for k, v in _settings(callback).items())
            lines.append(f"{type(callback).__name__}: {settings}")
            required = getattr(callback, "required_weights", None)  # the files a callback resolves
            files.update(required() if callable(required) else {})
            files.update(callback.weights)
            for name, extractor in callback.extractors.items():
                deviations.append(
                    f"{type(callback).__name__}: extractor {name!r} is a stand-in given in the config "
                    f"({type(extractor).__name__}), not the paper's network"
                )
            lines += self._recogniser_lines(callback)
        lines += [self._file_line(name, path) for name, path in files.items()]
        lines += [f"Deviation: {d}" for d in deviations] or ["Deviations: none declared."]
        return lines

    @staticmethod
    def _recogniser_lines(callback: MetricCallback) -> list[str]:
        """Which action recogniser made the number (its description), and its file's hash."""
        from stylevideo.metrics.skeleton_action import recognizer_description

        ckpt = getattr(callback, "classifier_ckpt", None)
        given = callback.extractors.get("classifier")
        if ckpt and Path(ckpt).is_file() and given is None:
            return [f"Action recogniser: {recognizer_description(ckpt)}; {ckpt} (sha256 {sha256_file(ckpt)})"]
        if given is not None:
            return [f"Action recogniser: {getattr(given, 'description', type(given).__name__)} (given in the config)"]
        return []

    @staticmethod
    def _file_line(name: str, path: str | None) -> str:
        from stylevideo.features.weights import MissingWeightsError, resolve_weights

        try:
            file = resolve_weights(name, path)
        except (MissingWeightsError, KeyError) as e:
            return f"Pretrained file {name}: not resolved ({e})"
        return f"Pretrained file {name}: {file} (sha256 {sha256_file(file)})"

    def write(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> list[Path]:
        """Write ``<table>.md`` / ``.csv`` (rank 0) and the W&B table; returns the files."""
        if not trainer.is_global_zero:
            return []
        results = self.results(trainer, stage)
        missing = [m for c in self.table.columns if c.group in self.groups for m in c.metrics if m not in results]
        if missing:
            warnings.warn(f"TableWriter ({self.table.key}): this run computed no {sorted(set(missing))}", stacklevel=2)
        name = self.row_name(trainer, pl_module)
        md, flat = render_grids(self.table, name, results, self.groups)
        folder = Path(self.folder or trainer.default_root_dir)
        folder.mkdir(parents=True, exist_ok=True)
        t = self.table
        text = [
            f"# {t.key}: {t.title}",
            "",
            markdown_table(md),
            "",
            "## Protocol",
            "",
            *[f"- {line}" for line in self.protocol(trainer, pl_module)],
            "",
        ]
        md_path, csv_path = folder / f"{t.key}.md", folder / f"{t.key}.csv"
        md_path.write_text("\n".join(text))
        with open(csv_path, "w", newline="") as f:
            csv.writer(f).writerows([["" if v is None else v for v in row] for row in flat])
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_table(key=f"tables/{t.key}", columns=[str(c) for c in flat[0]], data=_wandb_rows(flat[1:]))
        return [md_path, csv_path]


def _wandb_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Cells W&B can type per column: the first column text, the others numbers or None."""
    return [[str(r[0]), *[v if isinstance(v, (int, float)) else None for v in r[1:]]] for r in rows]
