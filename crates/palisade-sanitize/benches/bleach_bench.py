#!/usr/bin/env python3
"""Python's bleach on the same inputs as the criterion bench (data/prose.html and
data/hostile.html), in MB/s, for the comparison in docs/benchmarks.md.

    pip install bleach==6.4.0
    python3 bleach_bench.py

bleach is configured like palisade's `rich` preset: the same elements and attributes, http,
https and mailto links, comments stripped, disallowed elements stripped rather than escaped.
Each input is cleaned repeatedly for at least 5 s; the median of 5 such runs is reported.
"""
import os
import platform
import statistics
import time

import bleach

HERE = os.path.dirname(os.path.abspath(__file__))

BASIC = ["p", "br", "b", "strong", "i", "em", "u", "s", "del", "ins", "mark", "small", "sub",
         "sup", "code", "kbd", "samp", "var", "pre", "blockquote", "q", "ul", "ol", "li", "dl",
         "dt", "dd", "hr", "abbr", "cite", "span"]
RICH = BASIC + ["h1", "h2", "h3", "h4", "h5", "h6", "a", "img", "table", "thead", "tbody",
                "tfoot", "tr", "th", "td", "caption", "figure", "figcaption", "details",
                "summary"]
ATTRIBUTES = {
    "abbr": ["title"], "ol": ["start", "reversed", "type"], "li": ["value"],
    "a": ["href", "title"], "img": ["src", "alt", "title", "width", "height"],
    "th": ["colspan", "rowspan", "scope"], "td": ["colspan", "rowspan"], "details": ["open"],
}


def measure(cleaner, text, seconds=5.0):
    n = 0
    start = time.perf_counter()
    while True:
        cleaner.clean(text)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return len(text.encode()) * n / elapsed / 1e6


def main():
    cleaner = bleach.sanitizer.Cleaner(
        tags=RICH, attributes=ATTRIBUTES, protocols=["http", "https", "mailto"],
        strip=True, strip_comments=True,
    )
    print(f"bleach {bleach.__version__}, Python {platform.python_version()}, "
          f"{platform.processor() or platform.machine()}")
    for name in ("prose.html", "hostile.html"):
        with open(os.path.join(HERE, "data", name), encoding="utf-8") as f:
            text = f.read()
        runs = [measure(cleaner, text) for _ in range(5)]
        print(f"{name}: {statistics.median(runs):.2f} MB/s (runs: "
              + ", ".join(f"{r:.2f}" for r in runs) + ")")


if __name__ == "__main__":
    main()
