//! Assigning experts to applications (DOMAIN.md, "Review"): every application gets exactly
//! `k` distinct experts, no expert above their load, never a conflicted or forbidden pair,
//! every pinned pair kept, and — among all assignments that do this — the one with the
//! greatest total affinity. Solved exactly as a minimum-cost flow:
//!
//! ```text
//! source ──(load, 0)──▶ expert ──(1, −affinity)──▶ application ──(k, 0)──▶ sink
//! ```
//!
//! with successive shortest paths: Dijkstra on reduced costs (Johnson potentials) finds the
//! cheapest augmenting distance, then a blocking flow (Dinic) pushes every augmenting path of
//! that distance at once. Each phase keeps the flow minimum-cost for its value, so the final
//! flow of value `k × applications` is optimal. Ties are broken by input order, so the same
//! input always gives the same assignment.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// An instance. Indices are positions in `expert_loads` and `applications`.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// How many applications each expert may review.
    pub expert_loads: Vec<u32>,
    /// Per application: how many experts it needs, and its candidates.
    pub applications: Vec<Demand>,
}

#[derive(Debug, Clone, Default)]
pub struct Demand {
    pub experts_needed: u32,
    /// Experts allowed for this application (no conflict, not forbidden), with their affinity
    /// (higher is better). An expert listed twice counts once, with the larger affinity.
    pub candidates: Vec<Candidate>,
    /// Experts that must review this application (pinned by the admin).
    pub pinned: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub expert: usize,
    pub affinity: i64,
}

/// The optimal assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Per application, its experts in ascending index order.
    pub experts: Vec<Vec<usize>>,
    pub total_affinity: i64,
}

/// Why no assignment exists, in terms a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Infeasible {
    /// These applications have fewer allowed experts (with any load) than they need.
    TooFewCandidates(Vec<Shortfall>),
    /// A pinned pair is not allowed (conflicted or forbidden), or an expert is pinned to more
    /// applications than their load.
    BadPin {
        application: usize,
        expert: usize,
        why: &'static str,
    },
    /// Each application has enough candidates, but the experts' loads cannot cover them all;
    /// these applications stay short in the best attempt.
    LoadsTooSmall(Vec<Shortfall>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall {
    pub application: usize,
    pub available: u32,
    pub needed: u32,
}

impl Shortfall {
    pub fn missing(&self) -> u32 {
        self.needed.saturating_sub(self.available)
    }
}

/// Solves an instance exactly; see the module comment.
pub fn solve(instance: &Instance) -> Result<Assignment, Infeasible> {
    let experts = instance.expert_loads.len();
    let mut loads = instance.expert_loads.clone();
    let mut pinned: Vec<Vec<usize>> = vec![Vec::new(); instance.applications.len()];
    let mut pinned_affinity = 0i64;

    // Pins first: they are fixed, so they only reduce what remains to be decided.
    for (a, demand) in instance.applications.iter().enumerate() {
        for &e in &demand.pinned {
            let Some(candidate) = demand
                .candidates
                .iter()
                .filter(|c| c.expert == e)
                .max_by_key(|c| c.affinity)
            else {
                return Err(Infeasible::BadPin {
                    application: a,
                    expert: e,
                    why: "the pair is conflicted or forbidden",
                });
            };
            if pinned[a].contains(&e) {
                continue;
            }
            if loads.get(e).copied().unwrap_or(0) == 0 {
                return Err(Infeasible::BadPin {
                    application: a,
                    expert: e,
                    why: "the expert is pinned beyond their load",
                });
            }
            if pinned[a].len() as u32 >= demand.experts_needed {
                return Err(Infeasible::BadPin {
                    application: a,
                    expert: e,
                    why: "more experts are pinned than the application needs",
                });
            }
            loads[e] -= 1;
            pinned[a].push(e);
            pinned_affinity += candidate.affinity;
        }
    }

    // Each application must have enough distinct candidates left.
    let mut short = Vec::new();
    let mut candidates: Vec<Vec<Candidate>> = Vec::with_capacity(instance.applications.len());
    for (a, demand) in instance.applications.iter().enumerate() {
        let mut best: Vec<Candidate> = Vec::new();
        for c in &demand.candidates {
            if c.expert >= experts || pinned[a].contains(&c.expert) || loads[c.expert] == 0 {
                continue;
            }
            match best.iter_mut().find(|b| b.expert == c.expert) {
                Some(b) => b.affinity = b.affinity.max(c.affinity),
                None => best.push(*c),
            }
        }
        let needed = demand.experts_needed - pinned[a].len() as u32;
        if (best.len() as u32) < needed {
            short.push(Shortfall {
                application: a,
                available: best.len() as u32 + pinned[a].len() as u32,
                needed: demand.experts_needed,
            });
        }
        candidates.push(best);
    }
    if !short.is_empty() {
        return Err(Infeasible::TooFewCandidates(short));
    }

    let needs: Vec<u32> = instance
        .applications
        .iter()
        .zip(&pinned)
        .map(|(d, p)| d.experts_needed - p.len() as u32)
        .collect();
    let mut flow = Network::build(&loads, &candidates, &needs);
    let required: i64 = needs.iter().map(|&n| i64::from(n)).sum();
    let pushed = flow.min_cost_flow(required);
    let mut experts_of = pinned;
    for (a, list) in flow.assigned(candidates.len()).into_iter().enumerate() {
        experts_of[a].extend(list);
    }
    if pushed < required {
        let short = instance
            .applications
            .iter()
            .enumerate()
            .filter(|(a, d)| (experts_of[*a].len() as u32) < d.experts_needed)
            .map(|(a, d)| Shortfall {
                application: a,
                available: experts_of[a].len() as u32,
                needed: d.experts_needed,
            })
            .collect();
        return Err(Infeasible::LoadsTooSmall(short));
    }
    for list in &mut experts_of {
        list.sort_unstable();
    }
    let total_affinity = pinned_affinity + flow.assigned_affinity();
    Ok(Assignment {
        experts: experts_of,
        total_affinity,
    })
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    to: usize,
    /// Index of the reverse edge in `edges`.
    rev: usize,
    cap: i64,
    cost: i64,
}

/// The residual network of one instance.
struct Network {
    edges: Vec<Edge>,
    /// Edge indices leaving each node, in insertion order (which makes the result
    /// deterministic).
    adjacency: Vec<Vec<usize>>,
    source: usize,
    sink: usize,
    experts: usize,
    /// (expert, application, edge index) of every expert→application edge.
    pairs: Vec<(usize, usize, usize)>,
}

const INF: i64 = i64::MAX / 4;

impl Network {
    fn build(loads: &[u32], candidates: &[Vec<Candidate>], needs: &[u32]) -> Self {
        let experts = loads.len();
        let nodes = experts + candidates.len() + 2;
        let mut net = Self {
            edges: Vec::new(),
            adjacency: vec![Vec::new(); nodes],
            source: nodes - 2,
            sink: nodes - 1,
            experts,
            pairs: Vec::new(),
        };
        for (e, &load) in loads.iter().enumerate() {
            if load > 0 {
                net.add(net.source, e, i64::from(load), 0);
            }
        }
        for (a, list) in candidates.iter().enumerate() {
            for c in list {
                let index = net.add(c.expert, experts + a, 1, -c.affinity);
                net.pairs.push((c.expert, a, index));
            }
        }
        for (a, &need) in needs.iter().enumerate() {
            if need > 0 {
                net.add(experts + a, net.sink, i64::from(need), 0);
            }
        }
        net
    }

    fn add(&mut self, from: usize, to: usize, cap: i64, cost: i64) -> usize {
        let index = self.edges.len();
        self.edges.push(Edge {
            to,
            rev: index + 1,
            cap,
            cost,
        });
        self.edges.push(Edge {
            to: from,
            rev: index,
            cap: 0,
            cost: -cost,
        });
        self.adjacency[from].push(index);
        self.adjacency[to].push(index + 1);
        index
    }

    /// Initial potentials: the shortest distances from the source in the (acyclic) initial
    /// network, so every reduced cost starts non-negative despite the negative affinities.
    fn initial_potentials(&self) -> Vec<i64> {
        let mut pi = vec![INF; self.adjacency.len()];
        pi[self.source] = 0;
        // Layers: source → experts → applications → sink.
        for &i in &self.adjacency[self.source] {
            let e = self.edges[i];
            if e.cap > 0 {
                pi[e.to] = pi[e.to].min(0);
            }
        }
        for &(expert, _, index) in &self.pairs {
            let e = self.edges[index];
            if pi[expert] < INF {
                pi[e.to] = pi[e.to].min(pi[expert] + e.cost);
            }
        }
        let apps = self.experts..self.source;
        for node in apps {
            if pi[node] < INF {
                pi[self.sink] = pi[self.sink].min(pi[node]);
            }
        }
        for p in &mut pi {
            if *p == INF {
                *p = 0;
            }
        }
        pi
    }

    /// Pushes up to `required` units at minimum cost; returns how many were pushed.
    fn min_cost_flow(&mut self, required: i64) -> i64 {
        let nodes = self.adjacency.len();
        let mut pi = self.initial_potentials();
        let mut pushed = 0;
        let mut dist = vec![INF; nodes];
        let mut level = vec![usize::MAX; nodes];
        let mut next_arc = vec![0usize; nodes];
        while pushed < required {
            // Dijkstra on reduced costs.
            dist.fill(INF);
            dist[self.source] = 0;
            let mut heap = BinaryHeap::new();
            heap.push(Reverse((0i64, self.source)));
            while let Some(Reverse((d, u))) = heap.pop() {
                if d > dist[u] {
                    continue;
                }
                for &i in &self.adjacency[u] {
                    let e = self.edges[i];
                    if e.cap <= 0 {
                        continue;
                    }
                    let nd = d + e.cost + pi[u] - pi[e.to];
                    if nd < dist[e.to] {
                        dist[e.to] = nd;
                        heap.push(Reverse((nd, e.to)));
                    }
                }
            }
            if dist[self.sink] >= INF {
                break;
            }
            for v in 0..nodes {
                if dist[v] < INF {
                    pi[v] += dist[v];
                }
            }
            // Blocking flow on the admissible subgraph (reduced cost 0, capacity left).
            loop {
                level.fill(usize::MAX);
                level[self.source] = 0;
                let mut queue = std::collections::VecDeque::from([self.source]);
                while let Some(u) = queue.pop_front() {
                    for &i in &self.adjacency[u] {
                        let e = self.edges[i];
                        if e.cap > 0 && level[e.to] == usize::MAX && e.cost + pi[u] - pi[e.to] == 0
                        {
                            level[e.to] = level[u] + 1;
                            queue.push_back(e.to);
                        }
                    }
                }
                if level[self.sink] == usize::MAX {
                    break;
                }
                next_arc.fill(0);
                loop {
                    let sent =
                        self.augment(self.source, required - pushed, &level, &mut next_arc, &pi);
                    if sent == 0 {
                        break;
                    }
                    pushed += sent;
                    if pushed >= required {
                        return pushed;
                    }
                }
            }
        }
        pushed
    }

    /// One augmenting path along the level graph (iterative, so deep graphs cannot overflow
    /// the stack); returns the amount pushed.
    fn augment(
        &mut self,
        source: usize,
        limit: i64,
        level: &[usize],
        next_arc: &mut [usize],
        pi: &[i64],
    ) -> i64 {
        let mut path: Vec<usize> = Vec::new();
        let mut u = source;
        loop {
            if u == self.sink {
                let amount = path
                    .iter()
                    .map(|&i| self.edges[i].cap)
                    .min()
                    .unwrap_or(0)
                    .min(limit);
                for &i in &path {
                    self.edges[i].cap -= amount;
                    let rev = self.edges[i].rev;
                    self.edges[rev].cap += amount;
                }
                return amount;
            }
            let mut advanced = false;
            while next_arc[u] < self.adjacency[u].len() {
                let i = self.adjacency[u][next_arc[u]];
                let e = self.edges[i];
                if e.cap > 0 && level[e.to] == level[u] + 1 && e.cost + pi[u] - pi[e.to] == 0 {
                    path.push(i);
                    u = e.to;
                    advanced = true;
                    break;
                }
                next_arc[u] += 1;
            }
            if !advanced {
                // Dead end: retreat and never try this arc again in this phase.
                let Some(i) = path.pop() else {
                    return 0;
                };
                let from = self.edges[self.edges[i].rev].to;
                next_arc[from] += 1;
                u = from;
            }
        }
    }

    /// Per application, the experts whose edge carries flow.
    fn assigned(&self, applications: usize) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); applications];
        for &(expert, a, index) in &self.pairs {
            if self.edges[index].cap == 0 {
                out[a].push(expert);
            }
        }
        out
    }

    fn assigned_affinity(&self) -> i64 {
        self.pairs
            .iter()
            .filter(|(_, _, index)| self.edges[*index].cap == 0)
            .map(|(_, _, index)| -self.edges[*index].cost)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(
        experts: usize,
        apps: usize,
        k: u32,
        load: u32,
        affinity: impl Fn(usize, usize) -> i64,
    ) -> Instance {
        Instance {
            expert_loads: vec![load; experts],
            applications: (0..apps)
                .map(|a| Demand {
                    experts_needed: k,
                    candidates: (0..experts)
                        .map(|e| Candidate {
                            expert: e,
                            affinity: affinity(e, a),
                        })
                        .collect(),
                    pinned: vec![],
                })
                .collect(),
        }
    }

    /// Every constraint of the rules holds.
    fn assert_valid(instance: &Instance, result: &Assignment) {
        let mut used = vec![0u32; instance.expert_loads.len()];
        for (a, experts) in result.experts.iter().enumerate() {
            let demand = &instance.applications[a];
            assert_eq!(
                experts.len() as u32,
                demand.experts_needed,
                "application {a} gets exactly k"
            );
            let mut distinct = experts.clone();
            distinct.dedup();
            assert_eq!(distinct.len(), experts.len(), "distinct experts");
            for e in experts {
                assert!(
                    demand.candidates.iter().any(|c| c.expert == *e),
                    "only allowed pairs"
                );
                used[*e] += 1;
            }
            for p in &demand.pinned {
                assert!(experts.contains(p), "pins kept");
            }
        }
        for (e, &n) in used.iter().enumerate() {
            assert!(n <= instance.expert_loads[e], "expert {e} within load");
        }
        let total: i64 = result
            .experts
            .iter()
            .enumerate()
            .flat_map(|(a, experts)| {
                experts.iter().map(move |e| {
                    instance.applications[a]
                        .candidates
                        .iter()
                        .filter(|c| c.expert == *e)
                        .map(|c| c.affinity)
                        .max()
                        .unwrap()
                })
            })
            .sum();
        assert_eq!(
            total, result.total_affinity,
            "reported objective matches the assignment"
        );
    }

    /// The best objective by exhaustive search: an independent check on small instances.
    fn brute_force(instance: &Instance) -> Option<i64> {
        fn go(
            instance: &Instance,
            a: usize,
            loads: &mut Vec<u32>,
            best: &mut Option<i64>,
            acc: i64,
        ) {
            if a == instance.applications.len() {
                *best = Some(best.map_or(acc, |b| b.max(acc)));
                return;
            }
            let demand = &instance.applications[a];
            let cands: Vec<Candidate> = demand.candidates.clone();
            let k = demand.experts_needed as usize;
            let n = cands.len();
            // Every k-subset of the candidates.
            let mut choose = |mask: u32| {
                if mask.count_ones() as usize != k {
                    return;
                }
                let chosen: Vec<&Candidate> = (0..n)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| &cands[i])
                    .collect();
                if !demand
                    .pinned
                    .iter()
                    .all(|p| chosen.iter().any(|c| c.expert == *p))
                {
                    return;
                }
                if chosen.iter().any(|c| loads[c.expert] == 0) {
                    return;
                }
                for c in &chosen {
                    loads[c.expert] -= 1;
                }
                let gain: i64 = chosen.iter().map(|c| c.affinity).sum();
                go(instance, a + 1, loads, best, acc + gain);
                for c in &chosen {
                    loads[c.expert] += 1;
                }
            };
            for mask in 0..(1u32 << n) {
                choose(mask);
            }
        }
        let mut best = None;
        go(
            instance,
            0,
            &mut instance.expert_loads.clone(),
            &mut best,
            0,
        );
        best
    }

    /// A small deterministic pseudo-random generator, so property tests need no crate.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, bound: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % bound
        }
    }

    fn random_instance(rng: &mut Lcg) -> Instance {
        let experts = 3 + rng.next(4) as usize;
        let apps = 1 + rng.next(3) as usize;
        let k = 1 + rng.next(2) as u32;
        Instance {
            expert_loads: (0..experts).map(|_| rng.next(3) as u32).collect(),
            applications: (0..apps)
                .map(|_| {
                    let mut candidates = Vec::new();
                    for e in 0..experts {
                        // About a quarter of the pairs are conflicted.
                        if rng.next(4) != 0 {
                            candidates.push(Candidate {
                                expert: e,
                                affinity: rng.next(50) as i64,
                            });
                        }
                    }
                    let pinned = if !candidates.is_empty() && rng.next(5) == 0 {
                        vec![candidates[rng.next(candidates.len() as u64) as usize].expert]
                    } else {
                        vec![]
                    };
                    Demand {
                        experts_needed: k,
                        candidates,
                        pinned,
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn the_best_affinity_wins_when_experts_are_plentiful() {
        // Expert e suits application a best when e == a.
        let instance = full(4, 2, 1, 1, |e, a| if e == a { 10 } else { 1 });
        let result = solve(&instance).unwrap();
        assert_eq!(result.experts, vec![vec![0], vec![1]]);
        assert_eq!(result.total_affinity, 20);
    }

    #[test]
    fn loads_force_a_trade_off_that_is_still_optimal() {
        // Both applications prefer expert 0, who can take only one; the loser gets expert 1.
        let instance = full(2, 2, 1, 1, |e, a| match (e, a) {
            (0, 0) => 10,
            (0, 1) => 9,
            (1, 0) => 1,
            _ => 5,
        });
        let result = solve(&instance).unwrap();
        // 10 + 5 = 15 beats 9 + 1 = 10.
        assert_eq!(result.total_affinity, 15);
        assert_eq!(result.experts, vec![vec![0], vec![1]]);
    }

    #[test]
    fn a_conflicted_pair_is_never_assigned() {
        let mut instance = full(3, 1, 2, 1, |_, _| 10);
        instance.applications[0]
            .candidates
            .retain(|c| c.expert != 1); // expert 1 is conflicted
        let result = solve(&instance).unwrap();
        assert_eq!(result.experts, vec![vec![0, 2]]);
    }

    #[test]
    fn too_few_unconflicted_experts_are_named_with_the_shortfall() {
        let mut instance = full(5, 2, 3, 2, |_, _| 1);
        instance.applications[1].candidates.truncate(1);
        let Err(Infeasible::TooFewCandidates(short)) = solve(&instance) else {
            panic!("expected a shortfall");
        };
        assert_eq!(
            short,
            vec![Shortfall {
                application: 1,
                available: 1,
                needed: 3
            }]
        );
        assert_eq!(short[0].missing(), 2);
    }

    #[test]
    fn loads_too_small_overall_are_reported() {
        // Three applications need 2 experts each (6), but three experts take one each (3).
        let instance = full(3, 3, 2, 1, |_, _| 1);
        assert!(matches!(
            solve(&instance),
            Err(Infeasible::LoadsTooSmall(_))
        ));
    }

    #[test]
    fn pins_are_kept_and_a_conflicted_pin_is_refused() {
        let mut instance = full(3, 1, 1, 1, |e, _| if e == 0 { 10 } else { 1 });
        instance.applications[0].pinned = vec![2];
        let result = solve(&instance).unwrap();
        assert_eq!(result.experts, vec![vec![2]]);
        instance.applications[0]
            .candidates
            .retain(|c| c.expert != 2);
        assert!(matches!(solve(&instance), Err(Infeasible::BadPin { .. })));
    }

    #[test]
    fn the_same_input_gives_the_same_assignment() {
        let instance = full(10, 6, 3, 2, |e, a| ((e * 7 + a * 3) % 5) as i64);
        assert_eq!(solve(&instance), solve(&instance));
    }

    #[test]
    fn random_instances_are_solved_optimally_and_validly() {
        let mut rng = Lcg(42);
        let mut solved = 0;
        for _ in 0..400 {
            let instance = random_instance(&mut rng);
            match (solve(&instance), brute_force(&instance)) {
                (Ok(result), Some(best)) => {
                    assert_valid(&instance, &result);
                    assert_eq!(result.total_affinity, best, "optimal on {instance:?}");
                    solved += 1;
                }
                (Err(_), None) => {}
                (got, expected) => {
                    panic!("solver {got:?} but exhaustive search {expected:?} on {instance:?}")
                }
            }
        }
        assert!(
            solved > 100,
            "enough feasible instances were checked: {solved}"
        );
    }
}
