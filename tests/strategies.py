"""Hypothesis strategies for hostile input, shared by tests/test_fuzz.py (a small profile) and
bench/fuzz.py (10,000+ examples): files as (bytes, suffix, name), and questions."""

from __future__ import annotations

import json

from hypothesis import strategies as st

#: Characters that break naive text handling: RTL marks and scripts, zero-width joiners, BOMs,
#: line and paragraph separators, a lone surrogate, combining marks, NUL and other controls.
ODD = [
    "\u200f",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\ud800",
    "\udfff",
    "\u0301",
    "\x00",
    "\x1b",
    "\x7f",
    "\r",
    "\t",
    "\u00a0",
    "ﷺ",
    "𝕏",
    "עברית",
    "العربية",
    "中文",
    "🙂",
    "\\",
    '"',
    "<",
    "&",
]
WORDS = [
    "The",
    "summit",
    "was",
    "called",
    "off",
    "on",
    "Tuesday",
    ".",
    "U.S.",
    "Mr.",
    "“quoted”",
    "(aside)",
    "Nov. 4,",
    "2023",
    "—",
    "http://x.y/z",
    "[link](http://a)",
    "**bold**",
    "# ",
    "- ",
    "\n",
    "\n\n",
    ":",
    "?",
]

texts = st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(ODD), st.text(max_size=20)), max_size=200).map(" ".join)
surrogate_text = st.text(st.characters(exclude_categories=()), max_size=300)  # Cs included: lone surrogates
huge_line = st.builds(
    lambda token, n: token * n,
    st.sampled_from(["a", " ", "[", "# ", "*", "<", "x ", ". ", "](", "\\", "é"]),
    st.integers(1, 60_000),
)
deep_json = st.builds(lambda opener, n: opener * n, st.sampled_from(["[", '{"a":', '{"body":[']), st.integers(1, 50_000))
deep_html = st.builds(
    lambda tag, n, body: f"<{tag}>" * n + body,
    st.sampled_from(["div", "b", "table", "p", "math", "svg"]),
    st.integers(1, 20_000),
    texts,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | surrogate_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "id",
    "guid",
    "url",
    "link",
    "title",
    "headline",
    "body",
    "text",
    "content",
    "date",
    "published_at",
    "source",
    "author",
    "authors",
]
record = st.dictionaries(st.sampled_from(FIELDS), st.one_of(json_values, texts), max_size=8)
jsonl = st.lists(st.one_of(record.map(lambda r: json.dumps(r, ensure_ascii=False)), st.text(max_size=50)), max_size=20).map(
    "\n".join
)
YAML = [
    "a: &a [x, x, x]\nb: [*a, *a, *a]",
    "title: !!python/object/apply:os.system ['true']",
    "date: !custom 1",
    "? [a, b]\n: c",
    "title: [unclosed",
    "title: {a: {b: {c: {d: 1}}}}",
    "date: 2023-02-30",
    "url: http://[::1",
    "source: " + "S" * 5000,
    "<<: *nothing",
    "title: |\n  multi\n  line",
    "authors: [1, 2, {x: y}]",
]
yaml_front = st.builds(lambda head, body: f"---\n{head}\n---\n{body}", st.sampled_from(YAML) | st.text(max_size=200), texts)
names = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/\x00"), min_size=1, max_size=60)

files = st.one_of(
    st.tuples(st.binary(max_size=20_000), st.sampled_from([".txt", ".md", ".html", ".json", ".jsonl"])),
    st.tuples(texts.map(lambda t: t.encode("utf-8", "surrogatepass")), st.sampled_from([".txt", ".md", ".html"])),
    st.tuples(surrogate_text.map(lambda t: t.encode("utf-8", "surrogatepass")), st.sampled_from([".txt", ".md"])),
    st.tuples(
        st.tuples(texts, st.sampled_from(["utf-16", "utf-32", "utf-8-sig", "cp1252", "latin-1"])).map(
            lambda pair: pair[0].encode(pair[1], "replace")
        ),
        st.sampled_from([".txt", ".md"]),
    ),
    st.tuples(huge_line.map(str.encode), st.sampled_from([".txt", ".md", ".html", ".jsonl"])),
    st.tuples(deep_json.map(str.encode), st.sampled_from([".json", ".jsonl"])),
    st.tuples(deep_html.map(lambda t: t.encode("utf-8", "surrogatepass")), st.just(".html")),
    st.tuples(jsonl.map(lambda t: t.encode("utf-8", "surrogatepass")), st.sampled_from([".json", ".jsonl"])),
    st.tuples(record.map(lambda r: json.dumps(r).encode()), st.just(".json")),
    st.tuples(yaml_front.map(lambda t: t.encode("utf-8", "surrogatepass")), st.just(".md")),
)
questions = st.one_of(texts, surrogate_text, huge_line, st.none(), st.integers(), st.binary(max_size=50))
byte_names = st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b".."))
