"""Count import cycles between streamcv's packages (second-level modules), for the notes.

    .venv/bin/python .ci/import_cycles.py [--depth 2|3]

Prints the number of elementary cycles in the package graph and each cycle. The import contract
in pyproject.toml ([tool.importlinter]) is what CI enforces; this only reports.
"""

from __future__ import annotations

import argparse
import collections

import grimp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=2)
    args = ap.parse_args()
    g = grimp.build_graph("streamcv")

    def pkg(m: str) -> str:
        return ".".join(m.split(".")[: args.depth])

    edges: dict[str, set[str]] = collections.defaultdict(set)
    for m in g.modules:
        for imp in g.find_modules_directly_imported_by(m):
            a, b = pkg(m), pkg(imp)
            if a != b:
                edges[a].add(b)
    nodes = sorted(set(edges) | {b for v in edges.values() for b in v})
    cycles: list[list[str]] = []
    for start in nodes:  # elementary cycles whose smallest node is ``start``
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nb in sorted(edges.get(node, ())):
                if nb == start:
                    cycles.append(path)
                elif nb not in path and nb > start:
                    stack.append((nb, [*path, nb]))
    print(f"{len(cycles)} import cycles between packages (depth {args.depth})")
    for c in cycles:
        print("  " + " -> ".join([*c, c[0]]))


if __name__ == "__main__":
    main()
