"""Static files that the manifest storage of production can process."""

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
SOURCE_MAP = re.compile(rb"sourceMappingURL=([^\s*]+)")


def test_no_static_file_names_a_source_map_that_is_missing():
    # collectstatic refuses a file whose source map is absent, and then every
    # page of production answers 500: vendor the map or drop the comment.
    missing = [
        f"{path.relative_to(STATIC)} → {name.decode()}"
        for path in STATIC.rglob("*")
        if path.suffix in (".js", ".css")
        for name in SOURCE_MAP.findall(path.read_bytes())
        if not (path.parent / name.decode()).exists()
    ]

    assert missing == []
