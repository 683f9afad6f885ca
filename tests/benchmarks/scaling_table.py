"""Print the scaling table of docs/guide/performance.md from a pytest-benchmark JSON file.

    python -m tests.benchmarks.scaling_table /tmp/scaling.json

The JSON comes from ``test_registry_scaling.py`` (see its docstring). Times
are the best round of each benchmark (the least disturbed by a busy machine);
ratios compare them with their baseline in the same run (``aemit_event``'s
with its floor timed in turn with it, in the same test).
"""

from __future__ import annotations

import json
import sys
import textwrap
from typing import Any


def _best(benchmarks: dict[str, dict[str, Any]], name: str) -> float:
    return float(benchmarks[name]["stats"]["min"])


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f} µs"


def table(data: dict[str, Any]) -> str:
    benchmarks = {b["name"]: b for b in data["benchmarks"]}
    lines = [
        "| registry size (other event types) | 10 | 1,000 | 100,000 |",
        "|---|---|---|---|",
    ]
    sizes = [10, 1_000, 100_000]
    hits = [_best(benchmarks, f"test_cache_hit[{size}]") for size in sizes]
    news = [_best(benchmarks, f"test_new_origin_each_call[{size}]") for size in sizes]
    lines.append("| cache hit (a class as origin) | " + " | ".join(_us(t) for t in hits) + " |")
    lines.append(
        "| new origin object each call | "
        + " | ".join(f"{_us(new)} ({new / hit:.2f}x a hit)" for new, hit in zip(news, hits, strict=True))
        + " |"
    )
    lines += ["", "| at 100,000 registered types | best | median |", "|---|---|---|"]
    for label, name in [
        ("first emission after a registration change", "test_first_emission_after_a_change"),
        ("`handle_event`", "test_handle_event"),
        ("`remove_handler`", "test_remove_handler"),
    ]:
        stats = benchmarks[name]["stats"]
        lines.append(f"| {label} | {_us(stats['min'])} | {_us(stats['median'])} |")
    fixed = benchmarks["test_rotating_origins[fixed]"]["stats"]
    lines += [
        "",
        "| origins | per emission | against one fixed origin: best | median |",
        "|---|---|---|---|",
    ]
    for label, name in [
        ("one fixed origin", "test_rotating_origins[fixed]"),
        ("10,000 distinct objects in turn", "test_rotating_origins[objects]"),
        ("10,000 distinct strings in turn", "test_rotating_origins[strings]"),
    ]:
        stats = benchmarks[name]["stats"]
        lines.append(
            f"| {label} | {_us(stats['min'])} | {stats['min'] / fixed['min']:.2f}x "
            f"| {stats['median'] / fixed['median']:.2f}x |"
        )
    lines += [
        "",
        "| `aemit_event`, one handler | per emission | against its floor: best | median of rounds |",
        "|---|---|---|---|",
    ]
    for kind in ("sync", "async"):
        aemit = benchmarks[f"test_aemit[{kind}]"]
        info = aemit["extra_info"]
        per_emission = aemit["stats"]["min"] / 1_000  # 1,000 emissions per round
        lines.append(
            f"| {kind} handler | {_us(per_emission)} | {info['ratio_best']:.2f}x | {info['ratio_median']:.2f}x |"
        )
    memory = benchmarks["test_memory"]["extra_info"]
    kept = max(0, round(memory["bytes_per_call_origin"]))  # tracemalloc noise can go below zero
    lines += [
        "",
        textwrap.fill(
            f"Memory: {memory['bytes_per_registration']:,} bytes per registration (100,000 registrations), "
            f"{memory['bytes_per_plan']:,} bytes per cached plan, {kept} bytes kept per "
            "emission from a per-call origin.",
            width=79,
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as file:
        print(table(json.load(file)))
