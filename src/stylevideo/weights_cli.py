"""``stylevideo weights``: the pretrained files a configuration needs, listed, fetched, verified.

    stylevideo weights list   [--config experiments/<exp>.yaml ...] [--name NAME ...]
    stylevideo weights fetch  [--config ...] [--name ...] [--retries N] [--quiet]
    stylevideo weights verify [--config ...] [--name ...]

With ``--config``: the files that the model, the data and the callbacks of that configuration
declare (:mod:`stylevideo.features.requirements`), for any stage, at the paths the run will read
(a configured path, else ``$STYLEVIDEO_WEIGHTS``); nothing is built and nothing is loaded. With
``--name``: those registered files. With neither: every registered file. ``fetch`` downloads what
is missing (:func:`stylevideo.features.download.fetch`: sha256-checked, atomic, resumed); it is
the only command that downloads anything. ``verify`` hashes every present file.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from stylevideo.features import download, requirements
from stylevideo.features.weights import registered_weights, weights_path

__all__ = ["main", "parse_config", "wanted"]


def parse_config(files: list[str]) -> dict[str, Any]:
    """The parsed configuration of ``--config`` files (bases expanded, defaults filled in), as a
    dict; no class is instantiated and no seed is set."""
    from stylevideo.cli import StyleVideoCLI, expand_config_bases

    class _Reader(StyleVideoCLI):
        def parse_arguments(self, parser, args) -> None:
            super().parse_arguments(parser, args)
            self.config["seed_everything"] = False

        def before_instantiate_classes(self) -> None:
            pass

        def instantiate_classes(self) -> None:
            pass

    argv = expand_config_bases([arg for file in files for arg in ("--config", file)])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return _Reader(args=argv, run=False).config.as_dict()


def wanted(configs: list[str], names: list[str]) -> dict[tuple[str, str | None], list[str]]:
    """``{(loader name, configured path or None): [who needs it]}`` for the command's selection."""
    requirements.import_registrations()
    out: dict[tuple[str, str | None], list[str]] = {}
    if configs:
        for r in requirements.from_config(parse_config(configs)):
            if r.kind == "weights":
                out.setdefault((r.name, r.path), []).append(r.owner)
    unknown = sorted(set(names) - set(registered_weights()))
    if unknown:
        raise SystemExit(f"error: unknown weights {unknown}; known: {sorted(registered_weights())}")
    for name in names or ([] if configs else registered_weights()):
        out.setdefault((name, None), [])
    return out


def _list(selection) -> int:
    specs = registered_weights()
    if not selection:
        print("no registered weight file is needed")
    for (name, path), owners in selection.items():
        spec, file = specs[name], weights_path(name, path)
        pin = f"{spec.pin} {spec.sha256}" if spec.sha256 else spec.pin
        print(f"{'present' if file.is_file() else 'MISSING':8} {name:24} {pin}")
        print(f"         file: {file}\n         url:  {spec.url}")
        if owners:
            print(f"         needed by: {', '.join(dict.fromkeys(owners))}")
    return 0


def _fetch(selection, retries: int, progress: bool) -> int:
    failed = 0
    for name, path in selection:
        file = weights_path(name, path)
        if file.is_file():
            print(f"present  {name}: {file}")
            continue
        print(f"fetching {name}: {download.download_url(registered_weights()[name])} -> {file}", flush=True)
        try:
            download.fetch(name, path, retries=retries, progress=progress)
        except OSError as err:  # a DownloadError, or the folder cannot be written
            failed += 1
            print(f"FAILED   {err}")
            continue
        print(f"fetched  {name}: {file}")
    if failed:
        print(f"{failed} file(s) could not be fetched")
    return 1 if failed else 0


_STATUS = {
    "ok": "sha256 matches the pinned value",
    "recorded": "unpinned; sha256 equals the one recorded when fetched",
    "unrecorded": "unpinned; no recorded sha256 to compare with",
    "MISMATCH": "sha256 differs",
    "missing": "not present",
}


def _verify(selection) -> int:
    checks = [download.verify(name, path) for name, path in selection]
    for c in checks:
        digest = f" (sha256 {c.sha256})" if c.sha256 else ""
        print(f"{c.status:10} {c.name}: {c.file}: {_STATUS[c.status]}{digest}")
    return 1 if any(c.failed for c in checks) else 0


def main(argv: list[str]) -> int:
    """``stylevideo weights ...``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="stylevideo weights", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command, help in (
        ("list", "what is needed, present or missing, with URLs and hash status"),
        ("fetch", "download what is missing (sha256-checked, atomic, resumed)"),
        ("verify", "hash every present file against its pinned or recorded sha256"),
    ):
        p = sub.add_parser(command, help=help)
        p.add_argument("--config", action="append", default=[], help="experiment config (repeatable)")
        p.add_argument("--name", action="append", default=[], help="a registered loader name (repeatable)")
        if command == "fetch":
            p.add_argument("--retries", type=int, default=3, help="retries of a broken download (resumed)")
            p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    selection = wanted(args.config, args.name)
    if args.command == "list":
        return _list(selection)
    if args.command == "fetch":
        return _fetch(selection, args.retries, not args.quiet)
    return _verify(selection)
