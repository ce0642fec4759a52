"""`stylevideo weights fetch/verify` against a local server: success, wrong hash, a broken
transfer (resumed with Range), 404, a web page instead of the file, unpinned files."""

from __future__ import annotations

import hashlib

import pytest

from stylevideo.features import download, weights
from stylevideo.features.weights import WeightSpec

DATA = bytes(range(256)) * 4099  # 1 MiB + 1 KiB: more than one read chunk
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def served(weights_server, monkeypatch):
    """``register(name, sha256)``: a registered file served by the local server (mirror)."""
    monkeypatch.setenv(download.MIRROR_ENV, weights_server.url + "/mirror")
    weights_server.files["/mirror/test.pth"] = DATA

    def register(name: str = "test_file", sha256: str | None = SHA) -> str:
        spec = WeightSpec("test.pth", "https://example.invalid/test.pth", "test", sha256, "test" if sha256 else "")
        monkeypatch.setitem(weights._REGISTRY, name, spec)
        return name

    return register


def _folder_contents():
    return sorted(p.name for p in weights.weights_dir().iterdir()) if weights.weights_dir().exists() else []


def test_fetch_downloads_checks_and_renames_atomically(served, weights_server):
    file = download.fetch(served(), progress=False)
    assert file == weights.weights_dir() / "test.pth" and file.read_bytes() == DATA
    assert _folder_contents() == ["test.pth"]  # no .part and, pinned, no recorded hash
    assert weights_server.requests == [("/mirror/test.pth", None)]
    assert download.verify("test_file").status == "ok"
    download.fetch("test_file", progress=False)  # present: nothing is requested again
    assert len(weights_server.requests) == 1


def test_a_prefix_pin_is_checked_as_a_prefix(served):
    assert download.fetch(served("prefix_ok", SHA[:8]), progress=False).read_bytes() == DATA
    wrong = f"{(int(SHA[:8], 16) + 1) % 16**8:08x}"
    served("prefix_wrong", wrong)
    (weights.weights_dir() / "test.pth").unlink()
    with pytest.raises(download.HashMismatchError, match=f"sha256 {SHA}, not the registered sha256 prefix {wrong}"):
        download.fetch("prefix_wrong", progress=False)


def test_a_wrong_hash_is_refused_and_leaves_nothing(served):
    wrong = hashlib.sha256(b"another file").hexdigest()
    with pytest.raises(download.HashMismatchError, match="mirror/test.pth gave a file with sha256"):
        download.fetch(served(sha256=wrong), progress=False)
    assert _folder_contents() == []


def test_a_broken_transfer_is_resumed_with_a_range_request(served, weights_server):
    weights_server.cut["/mirror/test.pth"] = 300_000  # the server closes the connection there
    file = download.fetch(served(), progress=False)
    assert file.read_bytes() == DATA
    assert weights_server.requests == [("/mirror/test.pth", None), ("/mirror/test.pth", "bytes=300000-")]
    assert _folder_contents() == ["test.pth"]


def test_404_names_the_url_and_leaves_nothing(served, weights_server):
    del weights_server.files["/mirror/test.pth"]
    with pytest.raises(download.DownloadError, match=rf"{weights_server.url}/mirror/test.pth answered HTTP 404"):
        download.fetch(served(), progress=False)
    assert _folder_contents() == []
    assert len(weights_server.requests) == 1  # a 404 is not retried


def test_a_web_page_instead_of_the_file_is_refused(served, weights_server):
    weights_server.pages["/mirror/test.pth"] = b"<html>Virus scan warning</html>"
    with pytest.raises(download.DownloadError, match="sent a web page, not the file"):
        download.fetch(served(sha256=None), progress=False)
    assert _folder_contents() == []


def test_an_unpinned_file_gets_its_sha256_recorded_and_verify_detects_a_change(served):
    file = download.fetch(served(sha256=None), progress=False)
    assert download.record_file(file).read_text() == f"{SHA}  test.pth\n"
    assert download.verify("test_file").status == "recorded"
    file.write_bytes(DATA[:-1] + b"\x00")
    check = download.verify("test_file")
    assert check.status == "MISMATCH" and check.failed and check.sha256 != SHA
    download.record_file(file).unlink()
    assert download.verify("test_file").status == "unrecorded"


def test_download_addresses():
    drive = WeightSpec("f.pth", "https://drive.google.com/file/d/AbC-12_x/view")
    assert download.download_url(drive) == (
        "https://drive.usercontent.google.com/download?id=AbC-12_x&export=download&confirm=t"
    )
    assert download.download_url(WeightSpec("f.pth", "https://host/f.pth")) == "https://host/f.pth"


def test_registered_pins_are_published_values():
    """CLIP's pins are the digests in OpenAI's URLs; torchvision's are their file names' prefixes."""
    from stylevideo.features.requirements import import_registrations

    import_registrations()
    specs = weights.registered_weights()
    for name in ("clip_vit_b32", "clip_vit_b16"):
        assert specs[name].pin == "sha256" and specs[name].url.split("/")[-2] == specs[name].sha256
    for spec in specs.values():
        if spec.url.startswith("https://download.pytorch.org/models/"):
            assert spec.pin == "sha256 prefix" and spec.filename.removesuffix(".pth").endswith("-" + spec.sha256)
    unpinned = {n for n, s in specs.items() if s.pin == "unpinned"}
    assert {"i3d_kinetics400", "inception_v3_fidelity", "arcface_ir_se50", "dino_vitb16"} <= unpinned
