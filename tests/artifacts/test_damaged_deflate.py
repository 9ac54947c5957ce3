"""A damaged deflate stream inside an artifact is a clean ArtifactError (zlib's own error never
escapes the loader); found by the scorer check suite's corrupt-artifact check."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from clearlane.artifacts import read_artifact, write_artifact
from clearlane.errors import ArtifactError


@pytest.mark.parametrize("member", ["manifest.json", "state.json"])
def test_a_damaged_compressed_member_is_an_artifact_error(tmp_path: Path, member: str) -> None:
    path = tmp_path / "state.clz"
    write_artifact({"values": list(range(2000)), "text": "abc " * 500}, path, kind="test",
                   version="1")
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member)
    assert info.compress_type == zipfile.ZIP_DEFLATED
    header = data[info.header_offset: info.header_offset + 30]
    start = (info.header_offset + 30 + int.from_bytes(header[26:28], "little")
             + int.from_bytes(header[28:30], "little"))
    for i in range(start + 2, start + 18):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupt"):
        read_artifact(path, trust=True)
