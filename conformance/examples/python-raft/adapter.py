#!/usr/bin/env python3
"""Conformance adapter for python-raft (openkraft adapter protocol, Raft layer only).

Reads one JSON request per line on stdin and answers each with one JSON line
on stdout (conformance/README.md, "1. The adapter protocol").

    python3 adapter.py                 # a conforming node
    python3 adapter.py --violate R14   # the same node breaking one rule on purpose

Rules that can be broken: R14, R16, R48, R57, R64 (see README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from raft import RaftNode, Violations  # noqa: E402

VIOLATIONS = ("R14", "R16", "R48", "R57", "R64")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--violate", choices=VIOLATIONS, default=None,
                        help="break one rule on purpose")
    args = parser.parse_args()
    violations = Violations(args.violate)

    node: RaftNode | None = None
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            tag = req.get("_tag")
            if tag == "init" and req["config"].get("kraftVersion", 0) >= 1:
                # This implementation has static voters only: it declines dynamic-quorum vectors.
                node = None
                reply = {"_tag": "unsupported", "feature": "kraft.version 1 (dynamic voters, KIP-853)"}
            elif tag == "init":
                node = RaftNode(req["config"], req["quorumState"], req["log"],
                                recovering=req.get("recovering", False),
                                first_correlation_id=req.get("firstCorrelationId", 1),
                                violations=violations)
                effects = node.start()
                reply = {"_tag": "ok", "effects": effects, "state": node.projection()}
            elif tag in ("initController", "initBroker"):
                node = None
                reply = {"_tag": "error", "message": "only the Raft layer"}
            elif tag == "input":
                if node is None:
                    reply = {"_tag": "error", "message": "no Raft node started"}
                else:
                    effects = node.handle(req["input"])
                    reply = {"_tag": "ok", "effects": effects, "state": node.projection()}
            else:
                reply = {"_tag": "error", "message": f"unknown request {tag!r}"}
        except Exception as exc:  # report, keep serving
            traceback.print_exc(file=sys.stderr)
            reply = {"_tag": "error", "message": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply, separators=(",", ":")) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
