#!/usr/bin/env python3
"""Independent exact check of jiebang's expert assignment, using OR-Tools' min-cost flow.

Reads an instance written by
    cargo run --release -p jiebang-domain --example assignment_bench -- ... --write FILE
and solves the same network as the Rust solver (services/jiebang-domain/src/review/assignment.rs):

    source --(load, 0)--> expert --(1, -affinity)--> application --(k, 0)--> sink

with supply k * applications at the source and the same amount of demand at the sink, so every
application must get exactly k distinct experts. Prints one line:

    objective=<total affinity = -optimal cost> solve_seconds=<Solve() only> status=<status name>

Instance format (text):
    line 1: <experts> <applications> <k>
    line 2: the experts' loads, separated by spaces
    then one line per application: <n> e1 a1 e2 a2 ... (n pairs of expert index and integer affinity)
"""
import argparse
import sys
import time

from ortools.graph.python import min_cost_flow


def read_instance(path):
    """Return (loads, applications, k); each application is a dict expert -> affinity."""
    with open(path) as f:
        experts, n_apps, k = map(int, f.readline().split())
        loads = list(map(int, f.readline().split()))
        if len(loads) != experts:
            sys.exit(f"expected {experts} loads, got {len(loads)}")
        apps = []
        for a in range(n_apps):
            nums = list(map(int, f.readline().split()))
            if not nums or len(nums) != 1 + 2 * nums[0]:
                sys.exit(f"application {a}: malformed line")
            best = {}
            for e, aff in zip(nums[1::2], nums[2::2]):
                if not 0 <= e < experts:
                    sys.exit(f"application {a}: expert {e} out of range")
                # As in the Rust solver: an expert listed twice counts once, with the larger affinity.
                best[e] = max(aff, best.get(e, aff))
            apps.append(best)
    return loads, apps, k


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instance", help="instance file written by the assignment_bench example (--write)")
    args = parser.parse_args()

    loads, apps, k = read_instance(args.instance)
    n_experts, n_apps = len(loads), len(apps)
    # Node numbering: source, experts, applications, sink.
    source, sink = 0, 1 + n_experts + n_apps
    expert_node = lambda e: 1 + e
    app_node = lambda a: 1 + n_experts + a

    tails, heads, caps, costs = [], [], [], []
    for e, load in enumerate(loads):  # source -> expert: capacity = load, cost 0
        tails.append(source); heads.append(expert_node(e)); caps.append(load); costs.append(0)
    for a, cands in enumerate(apps):  # expert -> application: capacity 1, cost = -affinity
        for e, aff in cands.items():
            tails.append(expert_node(e)); heads.append(app_node(a)); caps.append(1); costs.append(-aff)
    for a in range(n_apps):  # application -> sink: capacity k, cost 0
        tails.append(app_node(a)); heads.append(sink); caps.append(k); costs.append(0)

    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    smcf.set_node_supply(source, k * n_apps)
    smcf.set_node_supply(sink, -k * n_apps)

    start = time.perf_counter()
    status = smcf.solve()  # timed: the Solve() call only
    seconds = time.perf_counter() - start

    name = smcf.Status(status).name
    if status == smcf.OPTIMAL:
        print(f"objective={-smcf.optimal_cost()} solve_seconds={seconds:.3f} status={name}")
    else:  # e.g. INFEASIBLE: some application cannot get k experts within the loads
        print(f"objective=none solve_seconds={seconds:.3f} status={name}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
