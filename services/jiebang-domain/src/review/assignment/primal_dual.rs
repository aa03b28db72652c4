//! The exact solver: successive shortest paths (primal–dual) for a minimum-cost maximum flow,
//! specialised to the assignment network
//!
//! ```text
//! source ──(load, 0)──▶ expert ──(1, −affinity)──▶ application ──(need, 0)──▶ sink
//! ```
//!
//! **Layout.** The network is never built as a general graph. The source's and sink's arcs
//! are the counters `spare` (load left per expert) and `deficit` (seats left per
//! application); the expert→application arcs sit in one compact array ordered by expert
//! (CSR: `head`, `cost`, `flow`), and the reverse arcs of the pairs that carry flow — at most
//! `need` per application — sit in per-application slots. A scan of an expert reads its arcs
//! contiguously, and an application has only its few assigned experts to look at.
//!
//! **Phases.** Potentials `pi` keep every residual arc's reduced cost non-negative. A phase
//! runs Dijkstra on reduced costs (bucket queue) from every expert with spare load until the
//! sink and every other node at the sink's distance `D` are settled, then raises each
//! potential by `min(distance, D)`. Reduced costs stay non-negative, and the arcs of reduced
//! cost 0 (admissible) are exactly those on shortest augmenting paths. Depth-first rounds over
//! the admissible arcs then push a unit along every such path they meet, until a round finds
//! none; then the next phase starts. Every unit travels a shortest augmenting path, so after
//! each augmentation the flow is of minimum cost for its value (the classic invariant of
//! successive shortest paths); the phases end when the sink is unreachable, so the final flow
//! is a minimum-cost maximum flow.
//!
//! **Cost of a phase.** A phase scans the arcs of the experts Dijkstra settles, once; while
//! doing so it records the few arcs that can be admissible afterwards, so the rounds walk
//! short lists instead of rescanning. The number of phases is the number of distinct
//! shortest-path lengths met, which is small when affinities take few values (as the domain's
//! do: multiples of 25 from 0 to 1000) — 13 on the 5,000 × 2,000 benchmark. Affinities with
//! thousands of distinct values make many more phases (see `bench/assignment/README.md`).
//!
//! Everything is deterministic: experts, arcs and slots are visited in index order, and the
//! bucket queue's order depends only on the order of pushes.

use super::bucket_queue::BucketQueue;

const INF: i64 = i64::MAX / 4;

/// The pairs left to decide, grouped by application: application `a`'s candidates are
/// `expert[start[a]..start[a + 1]]` with the matching `affinity`; each expert occurs at most
/// once per application.
pub(super) struct Pairs<'a> {
    pub start: &'a [u32],
    pub expert: &'a [u32],
    pub affinity: &'a [i64],
}

/// The result of one run: how many seats were filled, the experts assigned to each
/// application (in no particular order) and their total affinity.
pub(super) struct Outcome {
    pub filled: u64,
    pub assigned: Vec<Vec<usize>>,
    pub affinity: i64,
}

/// Fills as many seats as the loads allow (`needs[a]` per application) with the greatest
/// total affinity among all assignments that fill that many.
pub(super) fn solve(loads: &[u32], needs: &[u32], pairs: &Pairs<'_>) -> Outcome {
    let mut network = Network::build(loads, needs, pairs);
    let filled = network.run();
    network.outcome(filled)
}

struct Network {
    experts: usize,
    /// Expert `e`'s arcs are `first[e]..first[e + 1]`.
    first: Vec<u32>,
    /// The application each arc leads to.
    head: Vec<u32>,
    /// −affinity of each arc.
    cost: Vec<i64>,
    /// Whether the arc carries its unit.
    flow: Vec<bool>,
    /// Load left per expert (residual capacity of source → expert).
    spare: Vec<u32>,
    /// Seats left per application (residual capacity of application → sink).
    deficit: Vec<u32>,
    /// Application `a`'s assigned pairs are slots `slot_first[a]..slot_first[a] + slot_len[a]`
    /// (room for `needs[a]`), each holding the arc and its expert.
    slot_first: Vec<u32>,
    slot_len: Vec<u32>,
    slot_arc: Vec<u32>,
    slot_expert: Vec<u32>,
    /// Potentials of experts (`0..experts`), applications (`experts..sink`) and the sink. The
    /// source's potential is always 0, and so is every expert's with spare load (their
    /// distance is always 0), so source → expert arcs have reduced cost 0.
    pi: Vec<i64>,
}

/// Scratch space reused by every phase and round, so the inner loops do not allocate.
struct Scratch {
    dist: Vec<i64>,
    queue: BucketQueue,
    /// Depth-first search: the position to try next in each expert's admissible arcs, or in
    /// each application's slots.
    next: Vec<u32>,
    dead: Vec<bool>,
    on_path: Vec<bool>,
    path: Vec<u32>,
    /// The phase's admissible expert→application arcs, whether they carry flow or not:
    /// expert `e`'s are `admissible[admissible_first[e]..admissible_end[e]]` (arc indices).
    admissible: Vec<u32>,
    admissible_first: Vec<u32>,
    admissible_end: Vec<u32>,
}

impl Network {
    fn build(loads: &[u32], needs: &[u32], pairs: &Pairs<'_>) -> Self {
        let experts = loads.len();
        let apps = needs.len();
        let arcs = pairs.expert.len();
        // Counting sort of the pairs by expert; within an expert, by application.
        let mut first = vec![0u32; experts + 1];
        for &e in pairs.expert {
            first[e as usize + 1] += 1;
        }
        for e in 0..experts {
            first[e + 1] += first[e];
        }
        let mut fill = first.clone();
        let mut head = vec![0u32; arcs];
        let mut cost = vec![0i64; arcs];
        for a in 0..apps {
            let range = pairs.start[a] as usize..pairs.start[a + 1] as usize;
            for (&e, &affinity) in pairs.expert[range.clone()]
                .iter()
                .zip(&pairs.affinity[range])
            {
                let at = fill[e as usize] as usize;
                fill[e as usize] += 1;
                head[at] = a as u32;
                cost[at] = -affinity;
            }
        }
        let mut slot_first = vec![0u32; apps + 1];
        for a in 0..apps {
            slot_first[a + 1] = slot_first[a] + needs[a];
        }
        let slots = slot_first[apps] as usize;

        // Initial potentials: the distances from the source in the (acyclic) empty network,
        // so every reduced cost starts non-negative despite the negative costs.
        let sink = experts + apps;
        let mut pi = vec![0i64; sink + 1];
        let mut best = vec![INF; apps];
        for (&a, &c) in head.iter().zip(&cost) {
            let b = &mut best[a as usize];
            *b = (*b).min(c);
        }
        let mut sink_pi = INF;
        for a in 0..apps {
            if best[a] < INF {
                pi[experts + a] = best[a];
                if needs[a] > 0 {
                    sink_pi = sink_pi.min(best[a]);
                }
            }
        }
        pi[sink] = if sink_pi < INF { sink_pi } else { 0 };

        Self {
            experts,
            first,
            head,
            cost,
            flow: vec![false; arcs],
            spare: loads.to_vec(),
            deficit: needs.to_vec(),
            slot_first,
            slot_len: vec![0; apps],
            slot_arc: vec![0; slots],
            slot_expert: vec![0; slots],
            pi,
        }
    }

    fn sink(&self) -> usize {
        self.pi.len() - 1
    }

    /// Pushes flow phase by phase until the sink is unreachable; returns the units pushed.
    fn run(&mut self) -> u64 {
        let nodes = self.pi.len();
        let mut scratch = Scratch {
            dist: vec![INF; nodes],
            queue: BucketQueue::new(),
            next: vec![0; nodes],
            dead: vec![false; nodes],
            on_path: vec![false; nodes],
            path: Vec::new(),
            admissible: Vec::new(),
            admissible_first: vec![0; self.experts],
            admissible_end: vec![0; self.experts],
        };
        let required: u64 = self.deficit.iter().map(|&d| u64::from(d)).sum();
        let mut filled = 0u64;
        while filled < required {
            let Some(distance) = self.shortest_distance(&mut scratch) else {
                break;
            };
            for (p, &d) in self.pi.iter_mut().zip(&scratch.dist) {
                *p += d.min(distance);
            }
            self.keep_admissible(&mut scratch);
            loop {
                let pushed = self.admissible_round(&mut scratch);
                filled += pushed;
                if pushed == 0 || filled >= required {
                    break;
                }
            }
        }
        filled
    }

    /// Dijkstra on reduced costs from every expert with spare load, stopped once the sink and
    /// every other node at the sink's distance `D` are settled. Returns `D` (`None` if the
    /// sink is unreachable) and leaves each node's tentative distance in `scratch.dist` (exact
    /// up to `D`).
    ///
    /// It also records, per settled expert, the arcs that may be admissible once the
    /// potentials move: an arc `e → a` gets reduced cost 0 only if `dist[e] + reduced cost`
    /// equals `a`'s final distance, so only arcs whose relaxation ties or improves `a`'s
    /// tentative distance (and does not pass the sink's) are recorded — including arcs that
    /// carry flow, since a path may empty them later in the phase.
    fn shortest_distance(&self, scratch: &mut Scratch) -> Option<i64> {
        let experts = self.experts;
        let sink = self.sink();
        let Scratch {
            dist,
            queue,
            admissible,
            admissible_first,
            admissible_end,
            ..
        } = scratch;
        dist.fill(INF);
        queue.clear();
        admissible.clear();
        admissible_first.fill(0);
        admissible_end.fill(0);
        for (e, &spare) in self.spare.iter().enumerate() {
            if spare > 0 {
                // source → expert has reduced cost 0: both potentials are 0.
                dist[e] = 0;
                queue.push(0, e as u32);
            }
        }
        // Relaxations beyond the sink's tentative distance are skipped: the search stops at
        // the sink, and potentials move by `min(distance, sink distance)` anyway.
        let relax = |dist: &mut [i64], queue: &mut BucketQueue, v: usize, nd: i64| {
            if nd < dist[v] && nd <= dist[sink] {
                dist[v] = nd;
                queue.push(nd, v as u32);
            }
        };
        let mut found = None;
        while let Some((d, u)) = queue.pop() {
            let u = u as usize;
            if found.is_some_and(|found| d > found) {
                break;
            }
            if d > dist[u] {
                continue;
            }
            if u == sink {
                // Settle the rest of the nodes at this distance too, so that every node of
                // every shortest path has its exact distance.
                found = Some(d);
                continue;
            }
            let base = d + self.pi[u];
            if u < experts {
                let arcs = self.first[u] as usize..self.first[u + 1] as usize;
                admissible_first[u] = admissible.len() as u32;
                for (i, ((&a, &c), &used)) in self.head[arcs.clone()]
                    .iter()
                    .zip(&self.cost[arcs.clone()])
                    .zip(&self.flow[arcs.clone()])
                    .enumerate()
                {
                    let v = experts + a as usize;
                    let nd = base + c - self.pi[v];
                    if nd <= dist[v] && nd <= dist[sink] {
                        admissible.push((arcs.start + i) as u32);
                        if nd < dist[v] && !used {
                            dist[v] = nd;
                            queue.push(nd, v as u32);
                        }
                    }
                }
                admissible_end[u] = admissible.len() as u32;
            } else {
                let a = u - experts;
                let slots = self.slots(a);
                for (&arc, &e) in self.slot_arc[slots.clone()]
                    .iter()
                    .zip(&self.slot_expert[slots])
                {
                    let e = e as usize;
                    relax(dist, queue, e, base - self.cost[arc as usize] - self.pi[e]);
                }
                if self.deficit[a] > 0 {
                    relax(dist, queue, sink, base - self.pi[sink]);
                }
            }
        }
        found
    }

    fn slots(&self, a: usize) -> std::ops::Range<usize> {
        let first = self.slot_first[a] as usize;
        first..first + self.slot_len[a] as usize
    }

    /// Keeps, of the arcs [`Self::shortest_distance`] recorded, those of reduced cost 0 under
    /// the updated potentials.
    fn keep_admissible(&self, scratch: &mut Scratch) {
        let experts = self.experts;
        let Scratch {
            admissible,
            admissible_first,
            admissible_end,
            ..
        } = scratch;
        for e in 0..experts {
            let (first, end) = (admissible_first[e] as usize, admissible_end[e] as usize);
            let pe = self.pi[e];
            let mut kept = first;
            for j in first..end {
                let i = admissible[j] as usize;
                if self.cost[i] + pe == self.pi[experts + self.head[i] as usize] {
                    admissible[kept] = i as u32;
                    kept += 1;
                }
            }
            admissible_end[e] = kept as u32;
        }
    }

    /// One depth-first round over the admissible arcs, from each expert with spare load in
    /// index order, pushing a unit along every source–sink path it meets. Each node keeps its
    /// position in its arc list for the whole round and is given up (`dead`) once its list is
    /// exhausted, so a round is linear in the admissible arcs plus the paths' lengths.
    /// Returns the units pushed. A round that pushes none has searched every admissible path
    /// from the source without meeting the sink: a node on an admissible path is within `D`
    /// of the source for the whole phase (the reverse arcs of pushed paths join nodes whose
    /// distances differ by exactly their reduced cost), so Dijkstra settled it and recorded
    /// its admissible arcs.
    fn admissible_round(&mut self, scratch: &mut Scratch) -> u64 {
        let experts = self.experts;
        let sink = self.sink();
        scratch.next[..experts].copy_from_slice(&scratch.admissible_first);
        scratch.next[experts..].fill(0);
        scratch.dead.fill(false);
        let mut pushed = 0;
        for root in 0..experts {
            while self.spare[root] > 0 && !scratch.dead[root] {
                scratch.path.clear();
                scratch.path.push(root as u32);
                scratch.on_path[root] = true;
                let mut reached = false;
                while let Some(&top) = scratch.path.last() {
                    let u = top as usize;
                    let step = if u < experts {
                        self.admissible_arc(u, scratch)
                    } else {
                        let a = u - experts;
                        if self.deficit[a] > 0 && self.pi[u] == self.pi[sink] {
                            reached = true;
                            break;
                        }
                        self.admissible_slot(a, scratch)
                    };
                    match step {
                        Some(v) => {
                            scratch.on_path[v] = true;
                            scratch.path.push(v as u32);
                        }
                        None => {
                            // Dead end: give the node up for this round and step back past
                            // the arc or slot that led to it.
                            scratch.dead[u] = true;
                            scratch.on_path[u] = false;
                            scratch.path.pop();
                            if let Some(&parent) = scratch.path.last() {
                                scratch.next[parent as usize] += 1;
                            }
                        }
                    }
                }
                for &u in &scratch.path {
                    scratch.on_path[u as usize] = false;
                }
                if reached {
                    self.augment(&scratch.path, &scratch.next, &scratch.admissible);
                    pushed += 1;
                }
            }
        }
        pushed
    }

    /// Advances expert `e`'s position in its admissible arcs to the first that carries no
    /// flow and leads to a live application off the path; returns that application's node.
    fn admissible_arc(&self, e: usize, scratch: &mut Scratch) -> Option<usize> {
        let end = scratch.admissible_end[e];
        let mut j = scratch.next[e];
        while j < end {
            let i = scratch.admissible[j as usize] as usize;
            if !self.flow[i] {
                let v = self.experts + self.head[i] as usize;
                if !scratch.dead[v] && !scratch.on_path[v] {
                    scratch.next[e] = j;
                    return Some(v);
                }
            }
            j += 1;
        }
        scratch.next[e] = j;
        None
    }

    /// Advances application `a`'s position in its slots to the first admissible reverse arc
    /// to a live expert off the path; returns that expert.
    fn admissible_slot(&self, a: usize, scratch: &mut Scratch) -> Option<usize> {
        let u = self.experts + a;
        let first = self.slot_first[a];
        let mut s = scratch.next[u];
        let pa = self.pi[u];
        while s < self.slot_len[a] {
            let slot = (first + s) as usize;
            let e = self.slot_expert[slot] as usize;
            if pa - self.cost[self.slot_arc[slot] as usize] == self.pi[e]
                && !scratch.dead[e]
                && !scratch.on_path[e]
            {
                scratch.next[u] = s;
                return Some(e);
            }
            s += 1;
        }
        scratch.next[u] = s;
        None
    }

    /// Pushes one unit along `path` = expert, application, expert, …, application (the source
    /// before it and the sink after it implied); `next` names the arc or slot taken at each
    /// node (for experts, a position in `admissible`).
    fn augment(&mut self, path: &[u32], next: &[u32], admissible: &[u32]) {
        let experts = self.experts;
        self.spare[path[0] as usize] -= 1;
        let last = path.len() / 2 - 1;
        for (i, pair) in path.chunks_exact(2).enumerate() {
            let e = pair[0] as usize;
            let u = pair[1] as usize;
            let a = u - experts;
            let arc = admissible[next[e] as usize];
            self.flow[arc as usize] = true;
            if i == last {
                // The last application: one seat fewer to fill.
                let slot = (self.slot_first[a] + self.slot_len[a]) as usize;
                self.slot_arc[slot] = arc;
                self.slot_expert[slot] = e as u32;
                self.slot_len[a] += 1;
                self.deficit[a] -= 1;
            } else {
                // `e` replaces the expert the path leaves `a` through.
                let slot = (self.slot_first[a] + next[u]) as usize;
                self.flow[self.slot_arc[slot] as usize] = false;
                self.slot_arc[slot] = arc;
                self.slot_expert[slot] = e as u32;
            }
        }
    }

    fn outcome(&self, filled: u64) -> Outcome {
        let apps = self.slot_len.len();
        let mut affinity = 0;
        let assigned = (0..apps)
            .map(|a| {
                let slots = self.slots(a);
                for &arc in &self.slot_arc[slots.clone()] {
                    affinity -= self.cost[arc as usize];
                }
                self.slot_expert[slots]
                    .iter()
                    .map(|&e| e as usize)
                    .collect()
            })
            .collect();
        Outcome {
            filled,
            assigned,
            affinity,
        }
    }
}
