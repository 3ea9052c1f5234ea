"""portal.web.bodies.read_upload: an uploaded file is read no further than its limit + 1 byte."""

from __future__ import annotations

import io

from starlette.datastructures import UploadFile

from portal.web.bodies import read_upload


def test_an_oversized_upload_is_read_only_to_its_limit_plus_one_byte() -> None:
    upload = UploadFile(io.BytesIO(b"x" * 1000), size=1000, filename="big.pdf")
    assert read_upload(upload, 10) == b"x" * 11


def test_a_file_within_its_limit_is_read_whole_from_the_start() -> None:
    upload = UploadFile(io.BytesIO(b"%PDF-1.4 ok"), size=11, filename="ok.pdf")
    upload.file.read(3)  # whoever looked at it before
    assert read_upload(upload, 100) == b"%PDF-1.4 ok"
