"""`edgekws data speech-commands`: unpack a local archive, download one from a real localhost HTTP server."""

from __future__ import annotations

import functools
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from edgekws.cli import main
from edgekws.data import scan_dataset
from edgekws.data.download import download, fetch_speech_commands, unpack_archive
from edgekws.errors import DatasetError
from test_data_loader import write_dataset


def make_archive(tmp_path: Path) -> Path:
    """A flat tar.gz like the official one: word folders, lists and noise at the top level."""
    src = write_dataset(tmp_path / "src", words=("yes", "no", "bed"), speakers=4)
    (src / "validation_list.txt").write_text("yes/00000000_nohash_0.wav\n")
    (src / "testing_list.txt").write_text("no/00010001_nohash_0.wav\n")
    archive = tmp_path / "speech_commands_test.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for p in sorted(src.rglob("*")):
            tar.add(p, arcname=str(p.relative_to(src)), recursive=False)
    return archive


@pytest.fixture
def server(tmp_path):
    """A real http.server on 127.0.0.1 serving tmp_path/www in a thread."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_unpack_archive_gives_a_loadable_dataset_and_is_idempotent(tmp_path):
    archive = make_archive(tmp_path)
    out = unpack_archive(archive, tmp_path / "sc")
    index = scan_dataset(out)
    assert sorted(index.words) == ["bed", "no", "yes"] and index.num_clips == 12
    assert len(index.noise_files) == 1 and index.validation_list == {"yes/00000000_nohash_0.wav"}
    assert unpack_archive(archive, out) == out  # same archive again: nothing to do
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".unpack")]


def test_cli_downloads_from_localhost_and_unpacks(tmp_path, server, capsys):
    www, base = server
    archive = make_archive(tmp_path)
    (www / archive.name).write_bytes(archive.read_bytes())
    out = tmp_path / "data" / "sc"
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "speech-commands", "--url", f"{base}/{archive.name}", "--out", str(out)])
    assert exit_info.value.code == 0
    assert "3 words, 12 clips, 1 noise files" in capsys.readouterr().out
    assert (tmp_path / "data" / archive.name).read_bytes() == archive.read_bytes()
    assert scan_dataset(out).num_clips == 12


def test_download_reports_progress_and_http_errors(tmp_path, server):
    www, base = server
    (www / "blob.bin").write_bytes(b"x" * 200_000)
    seen = []
    download(f"{base}/blob.bin", tmp_path / "blob.bin", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (200_000, 200_000) and len(seen) > 1
    with pytest.raises(DatasetError, match="HTTP 404"):
        download(f"{base}/missing.tar.gz", tmp_path / "m.tar.gz")
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "m.tar.gz").exists()
    with pytest.raises(DatasetError, match="http or https"):
        download("ftp://example.invalid/x", tmp_path / "x")


def test_bad_archives(tmp_path):
    not_tar = tmp_path / "bad.tar.gz"
    not_tar.write_bytes(b"this is not gzip")
    with pytest.raises(DatasetError, match="cannot unpack"):
        unpack_archive(not_tar, tmp_path / "o1")
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(DatasetError, match="cannot unpack"):
        unpack_archive(evil, tmp_path / "o2")
    assert not (tmp_path / "escape.txt").exists()
    no_layout = tmp_path / "nolayout.tar.gz"
    with tarfile.open(no_layout, "w:gz") as tar:
        info = tarfile.TarInfo("README.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(DatasetError, match="Speech Commands layout"):
        unpack_archive(no_layout, tmp_path / "o3")
    assert not (tmp_path / "o3").exists()
    with pytest.raises(DatasetError, match="exactly one"):
        fetch_speech_commands(tmp_path / "o4")


@pytest.mark.parametrize("args, message", [
    (["--archive", "{tmp}/missing.tar.gz"], "does not exist"),
    (["--url", "{base}/nothing-here.tar.gz"], "HTTP 404"),
    ([], "exactly one"),
])
def test_cli_bad_inputs_are_one_line_errors(tmp_path, server, capsys, args, message):
    _, base = server
    argv = ["data", "speech-commands", "--out", str(tmp_path / "o")]
    argv += [a.format(tmp=tmp_path, base=base) for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]
    assert not any("Traceback" in line for line in err)
