"""The on-disk index, format version 3: one folder, one commit point, generations.

    <index>/qa.sqlite          metadata, FTS5 keywords, settings, the generation (metadata.py)
    <index>/vectors/g*.faiss   the FAISS index of a generation, keyed by chunk id (vectors.py)
    <index>/build.lock         held by the one build that may write (generations.py)

`Index` (reader.py) is a loaded generation; `qa/build.py` writes new ones.
"""

from .generations import housekeep, is_legacy, vector_file, writer_lock
from .metadata import FILE_NAME, CandidateRows
from .reader import FORMAT, FORMAT_VERSION, Filter, Index, read_meta

__all__ = ["Index", "Filter", "CandidateRows", "FORMAT", "FORMAT_VERSION", "FILE_NAME", "read_meta",
           "writer_lock", "vector_file", "housekeep", "is_legacy"]
