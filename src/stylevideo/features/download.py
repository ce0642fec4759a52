"""Explicit downloads and checks of the registered weight files (``stylevideo weights``).

Nothing else in stylevideo downloads. :func:`fetch` writes a file atomically: the bytes go to
``<file>.part`` (resumed with an HTTP ``Range`` request after a broken connection, up to
``retries`` times), are fsynced, hashed and checked against the registered sha256 (or its
prefix), and only then renamed to the file's name. A file whose hash is wrong is deleted and
refused. An *unpinned* file (no published hash) gets its sha256 recorded next to it, in
``<file>.sha256`` (``sha256sum`` format), so that :func:`verify` detects later changes.

``STYLEVIDEO_WEIGHTS_MIRROR``: a base URL that replaces every download address by
``<mirror>/<filename>`` (a cluster's own copy of the files; the tests' local server).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from stylevideo.features.weights import WeightSpec, registered_weights, weights_path

__all__ = ["MIRROR_ENV", "DownloadError", "HashMismatchError", "Check", "download_url", "fetch", "sha256_of", "verify"]

MIRROR_ENV = "STYLEVIDEO_WEIGHTS_MIRROR"
_CHUNK = 1 << 20
_DRIVE = re.compile(r"https://drive\.google\.com/file/d/([\w-]+)")


class DownloadError(OSError):
    """A download failed; the message names the URL and the file."""


class HashMismatchError(DownloadError):
    """A downloaded or present file does not have the registered sha256."""


def download_url(spec: WeightSpec) -> str:
    """Where ``fetch`` requests ``spec``'s file: the mirror, ``download_url``, the direct download
    address of a Google Drive page, or ``url``."""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        return f"{mirror.rstrip('/')}/{spec.filename}"
    if spec.download_url:
        return spec.download_url
    drive = _DRIVE.match(spec.url)
    if drive:
        return f"https://drive.usercontent.google.com/download?id={drive.group(1)}&export=download&confirm=t"
    return spec.url


def sha256_of(file: Path) -> str:
    """The sha256 hex digest of ``file``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def record_file(file: Path) -> Path:
    """Where the sha256 of an unpinned ``file`` is recorded."""
    return file.with_name(file.name + ".sha256")


def _matches(spec: WeightSpec, digest: str) -> bool:
    return spec.sha256 is None or digest.startswith(spec.sha256)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _transfer(url: str, part: Path, timeout: float, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (a ``Range`` request when ``part`` has bytes);
    raises ``http.client.IncompleteRead`` when the server sends less than it announced."""
    from tqdm import tqdm

    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "stylevideo-weights"} | ({"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing after `offset`: the part file is complete
            return
        raise
    with response:
        if offset and response.status != 206:  # the server ignored the range: start again
            offset = 0
        if "text/html" in response.headers.get("Content-Type", ""):
            raise DownloadError(
                f"{url} sent a web page, not the file (a confirmation or sign-in page): download it "
                f"in a browser and put it at {part.with_suffix('')}"  # the file: its name without .part
            )
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with (
            open(part, "ab" if offset else "wb") as f,
            tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=part.stem, disable=not progress) as bar,
        ):
            while chunk := response.read(_CHUNK):
                f.write(chunk)
                bar.update(len(chunk))
            f.flush()
            os.fsync(f.fileno())
        if total is not None and part.stat().st_size < total:
            raise http.client.IncompleteRead(b"", total - part.stat().st_size)


def fetch(
    name: str,
    path: str | os.PathLike | None = None,
    *,
    retries: int = 3,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download registered file ``name`` to ``path`` (default: the cache folder) unless present.

    Retries a broken transfer ``retries`` times, resuming where it stopped; refuses (deletes)
    a file whose sha256 is not the registered one. Returns the file.
    """
    spec, file = registered_weights()[name], weights_path(name, path)
    if file.is_file():
        return file
    file.parent.mkdir(parents=True, exist_ok=True)
    part = file.with_name(file.name + ".part")
    if spec.sha256 is None:
        part.unlink(missing_ok=True)  # an unpinned partial file cannot be checked: start again
    url = download_url(spec)
    for attempt in range(retries + 1):
        try:
            _transfer(url, part, timeout, progress)
            break
        except urllib.error.HTTPError as err:
            if err.code < 500 and err.code not in (408, 429) or attempt == retries:
                raise DownloadError(f"{name}: {url} answered HTTP {err.code} {err.reason}") from err
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as err:
            if attempt == retries:
                raise DownloadError(
                    f"{name}: downloading {url} failed after {retries + 1} attempts ({err}); "
                    f"the partial file {part} is kept: run the command again to resume"
                ) from err
        time.sleep(min(2**attempt, 30) * 0.5)
    digest = sha256_of(part)
    if not _matches(spec, digest):
        part.unlink()
        raise HashMismatchError(
            f"{name}: {url} gave a file with sha256 {digest}, not the registered "
            f"{spec.pin} {spec.sha256} ({spec.sha256_source}); it was deleted"
        )
    os.replace(part, file)
    if spec.sha256 is None:
        record_file(file).write_text(f"{digest}  {file.name}\n")
    _fsync_dir(file.parent)
    return file


@dataclass(frozen=True)
class Check:
    """The result of :func:`verify` for one file: ``status`` is ``ok``, ``recorded`` (unpinned,
    equal to the sha256 fetch recorded), ``unrecorded`` (unpinned, nothing to compare with),
    ``MISMATCH`` or ``missing``."""

    name: str
    file: Path
    status: str
    sha256: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "MISMATCH"


def verify(name: str, path: str | os.PathLike | None = None) -> Check:
    """Hash ``name``'s file and compare it with its pin (or the recorded sha256 if unpinned)."""
    spec, file = registered_weights()[name], weights_path(name, path)
    if not file.is_file():
        return Check(name, file, "missing")
    digest = sha256_of(file)
    if spec.sha256 is not None:
        return Check(name, file, "ok" if _matches(spec, digest) else "MISMATCH", digest)
    record = record_file(file)
    if not record.is_file():
        return Check(name, file, "unrecorded", digest)
    recorded = record.read_text().split()
    return Check(name, file, "recorded" if recorded[:1] == [digest] else "MISMATCH", digest)
