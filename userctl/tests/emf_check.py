#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check CloudWatch embedded metric format (EMF) lines against the
documented structure (Amazon CloudWatch User Guide, "Specification:
Embedded metric format"):

  root: a JSON object with "_aws" and every member a directive names
  _aws: {"Timestamp": ms since the epoch (number),
         "CloudWatchMetrics": [MetricDirective, ...]}
  MetricDirective: {"Namespace": 1-255 characters,
                    "Dimensions": [[member name, ...] (at most 30), ...],
                    "Metrics": [MetricDefinition, ...] (at most 100)}
  MetricDefinition: {"Name": member name, "Unit": one of UNITS (optional),
                     "StorageResolution": 1 or 60 (optional)}
  a dimension member's value is a string; a metric member's value is a
  number or an array of at most 100 numbers
  objects of the specification have no other members

  emf_check.py [--names N1,N2,...] [FILE]   (default: standard input)

Prints "emf: N lines ok" or one "emf: line L: problem" per problem and
exits 1. --names: every line must define exactly these metrics.
"""
import json
import sys

UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes",
    "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits",
    "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check(doc, names):
    errs = []
    if not isinstance(doc, dict):
        return ["not a JSON object"]
    aws = doc.get("_aws")
    if not isinstance(aws, dict):
        return ["no _aws object"]
    extra = set(aws) - {"Timestamp", "CloudWatchMetrics"}
    if extra:
        errs.append("_aws has other members: %s" % sorted(extra))
    ts = aws.get("Timestamp")
    if not is_number(ts) or ts < 1e12 or ts > 1e14:
        errs.append("_aws.Timestamp is not milliseconds since the epoch: %r" % (ts,))
    dirs = aws.get("CloudWatchMetrics")
    if not isinstance(dirs, list) or not dirs:
        return errs + ["_aws.CloudWatchMetrics is not a non-empty array"]
    seen = []
    for i, d in enumerate(dirs):
        where = "CloudWatchMetrics[%d]" % i
        if not isinstance(d, dict):
            errs.append(where + " is not an object")
            continue
        extra = set(d) - {"Namespace", "Dimensions", "Metrics"}
        if extra:
            errs.append("%s has other members: %s" % (where, sorted(extra)))
        ns = d.get("Namespace")
        if not isinstance(ns, str) or not 1 <= len(ns) <= 255:
            errs.append(where + ".Namespace is not a string of 1-255 characters")
        elif ns.startswith("AWS/"):
            errs.append(where + ".Namespace may not start with AWS/")
        dims = d.get("Dimensions")
        if not isinstance(dims, list):
            errs.append(where + ".Dimensions is not an array")
            dims = []
        for ds in dims:
            if not isinstance(ds, list) or len(ds) > 30 or \
                    not all(isinstance(x, str) for x in ds):
                errs.append(where + ".Dimensions has a set that is not an array of at most 30 strings")
                continue
            for name in ds:
                if not isinstance(doc.get(name), str):
                    errs.append("dimension %s: the root has no string member of that name" % name)
        mets = d.get("Metrics")
        if not isinstance(mets, list) or len(mets) > 100:
            errs.append(where + ".Metrics is not an array of at most 100")
            continue
        for m in mets:
            if not isinstance(m, dict) or not isinstance(m.get("Name"), str) \
                    or not 1 <= len(m["Name"]) <= 255:
                errs.append(where + ".Metrics has an entry without a Name")
                continue
            extra = set(m) - {"Name", "Unit", "StorageResolution"}
            if extra:
                errs.append("metric %s has other members: %s" % (m["Name"], sorted(extra)))
            if "Unit" in m and m["Unit"] not in UNITS:
                errs.append("metric %s: unit %r is not a CloudWatch unit" % (m["Name"], m["Unit"]))
            if "StorageResolution" in m and m["StorageResolution"] not in (1, 60):
                errs.append("metric %s: StorageResolution is not 1 or 60" % m["Name"])
            v = doc.get(m["Name"])
            if not (is_number(v) or (isinstance(v, list) and len(v) <= 100 and
                                     all(is_number(x) for x in v))):
                errs.append("metric %s: the root has no number (or array of numbers) of that name" % m["Name"])
            seen.append(m["Name"])
    if names is not None and sorted(seen) != sorted(names):
        errs.append("metrics %s, want %s" % (sorted(seen), sorted(names)))
    return errs


def main():
    args = sys.argv[1:]
    names = None
    if len(args) >= 2 and args[0] == "--names":
        names = [n for n in args[1].split(",") if n]
        args = args[2:]
    f = open(args[0]) if args else sys.stdin
    n = bad = 0
    for lineno, line in enumerate(f, 1):
        if not line.strip():
            continue
        n += 1
        try:
            doc = json.loads(line)
        except ValueError as e:
            print("emf: line %d: not JSON: %s" % (lineno, e))
            bad += 1
            continue
        for e in check(doc, names):
            print("emf: line %d: %s" % (lineno, e))
            bad += 1
    if n == 0:
        print("emf: no lines")
        return 1
    if bad:
        return 1
    print("emf: %d lines ok" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
