#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Plot alert latency (p50 and p99) against load for each pipeline of a bench_gateway.py JSON.

usage: plot_latency.py BENCH_JSON OUT_PNG   (needs matplotlib: python3-matplotlib)
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, out):
    with open(src) as f:
        doc = json.load(f)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for run, colour in zip(doc["runs"], ("tab:green", "tab:red", "tab:blue")):
        points = [run["latency"][k] for k in ("idle", "50%", "90%")]
        x = [p["load_achieved_per_s"] for p in points]
        ax.plot(x, [p["p50"] for p in points], "o-", color=colour, label=run["name"] + " p50")
        ax.plot(x, [p["p99"] for p in points], "s--", color=colour, label=run["name"] + " p99")
    ax.set_xlabel("background load, uplinks per second (idle, 50% and 90% of its own ingest)")
    ax.set_ylabel("alert latency, ms")
    ax.set_yscale("log")
    ax.set_title("Reading published to alert received, loopback, %s" % doc["date"])
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
