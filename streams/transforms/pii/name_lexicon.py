"""The broad name lexicon: first and last names from the ``names-dataset`` package, minus common words.

``names-dataset`` (MIT, https://pypi.org/project/names-dataset/) ships 730k first and 983k last names from
105 countries with a popularity rank per country. Loading its pickles takes ~1.9 GB of memory and 8-30 s,
far too much for a worker, so a compact derived file is built once from the installed package (``make
install`` runs ``python -m streams.transforms.pii.name_lexicon``; offline, nothing is downloaded) and the
worker reads that (~0.2 s). If the file is missing or was built from another dataset version, the first
scrub_text transform builds it (slow, once) and writes it beside this module when it can.

Selection: a name with a rank of at most :data:`MAX_RANK` in at least one country, written as one word in
Latin, Greek or Cyrillic letters. The file also keeps the common words: the :data:`COMMON_TOP` most frequent
words of each language in :data:`COMMON_LANGUAGES` by ``wordfreq`` (Apache-2.0; its data CC-BY-SA 4.0),
because the dataset, scraped from profiles, also holds words like "Monday", "Berlin", "Shipping": a name that
is also a common word ("Ming", "Xu" as much as "Monday") is only taken after a cue or beside another name.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path

from streams.transforms.pii.base import LOWER_LETTERS, UPPER_LETTERS

MAX_RANK = 5000
COMMON_TOP = 20000
COMMON_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")
FORMAT = 2
DATA_FILE = Path(__file__).with_name("name_lexicon.txt.gz")

_WORD = re.compile(rf"[{UPPER_LETTERS}][{LOWER_LETTERS}'\u2019\-]*[{LOWER_LETTERS}]")


def _header() -> str:
    dataset = metadata.version("names-dataset")
    common = f"{COMMON_TOP}:{','.join(COMMON_LANGUAGES)}"
    return f"# crm-anonymizer name lexicon format={FORMAT} names-dataset={dataset} rank<={MAX_RANK} common={common}"


def _ranked(table: dict[str, dict[str, dict[str, int | None]]]) -> set[str]:
    found: set[str] = set()
    for name, info in table.items():
        ranks = [r for r in (info.get("rank") or {}).values() if r is not None]
        if ranks and min(ranks) <= MAX_RANK and _WORD.fullmatch(name):
            found.add(name)
    return found


def build() -> tuple[frozenset[str], frozenset[str]]:
    """(names, common words) derived from the installed ``names-dataset`` and ``wordfreq`` (slow: seconds)."""
    import pickle  # the dataset's own format; read from the installed package only

    import names_dataset
    import wordfreq

    base = Path(names_dataset.__file__).parent / "v3"
    names: set[str] = set()
    for file in ("first_names.pkl.gz", "last_names.pkl.gz"):
        with gzip.open(base / file, "rb") as handle:
            names |= _ranked(pickle.load(handle))  # noqa: S301
    common = {w for lang in COMMON_LANGUAGES for w in wordfreq.top_n_list(lang, COMMON_TOP) if w.isalpha()}
    return frozenset(names), frozenset(common)


def write(names: frozenset[str], common: frozenset[str], path: Path = DATA_FILE) -> None:
    body = "\n".join([_header(), "[names]", *sorted(names), "[common]", *sorted(common), ""])
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".name_lexicon.")
    try:
        with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            out.write(body.encode())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read(path: Path = DATA_FILE) -> tuple[frozenset[str], frozenset[str]] | None:
    """The lexicon in ``path``, or None when it is missing or built from another dataset or selection."""
    try:
        lines = gzip.decompress(path.read_bytes()).decode().split("\n")
    except (OSError, EOFError):
        return None
    if not lines or lines[0] != _header() or "[common]" not in lines:
        return None
    split = lines.index("[common]")
    return frozenset(lines[2:split]), frozenset(w for w in lines[split + 1 :] if w)


@cache
def broad_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(names, common words): from the derived file, built (and saved when possible) if it is missing."""
    found = read()
    if found is not None:
        return found
    names, common = build()
    try:
        write(names, common)
    except OSError:
        pass  # a read-only install: keep the lexicon in memory
    return names, common


def main() -> None:
    if read() is not None and "--force" not in sys.argv:
        print(f"name lexicon up to date: {DATA_FILE}")
        return
    names, common = build()
    write(names, common)
    print(f"name lexicon: {len(names)} names, {len(common)} common words -> {DATA_FILE}")


if __name__ == "__main__":
    main()
