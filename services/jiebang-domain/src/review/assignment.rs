//! Assigning experts to applications (DOMAIN.md, "Review"): every application gets exactly
//! `k` distinct experts, no expert above their load, never a conflicted or forbidden pair,
//! every pinned pair kept, and — among all assignments that do this — the one with the
//! greatest total affinity. Solved exactly as a minimum-cost flow:
//!
//! ```text
//! source ──(load, 0)──▶ expert ──(1, −affinity)──▶ application ──(k, 0)──▶ sink
//! ```
//!
//! Pins are fixed first (they only reduce loads and seats); the rest is solved by successive
//! shortest paths (submodule `primal_dual`): Dijkstra on reduced costs (Johnson potentials)
//! finds the cheapest augmenting distance, then depth-first rounds push every augmenting path
//! of that distance. Every unit travels a shortest augmenting path, so the flow stays
//! minimum-cost for its value and the final flow of value `k × applications` is optimal; if
//! the loads cannot fill every seat, the flow is a minimum-cost maximum flow and the
//! applications it leaves short are reported. Experts, pairs and applications are always
//! visited in index order, so the same input always gives the same assignment.

mod bucket_queue;
mod primal_dual;
#[cfg(test)]
mod reference;

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
    let remaining = Remaining::after_pins(instance)?;
    let outcome = primal_dual::solve(&remaining.loads, &remaining.needs, &remaining.pairs());
    remaining.finish(instance, outcome)
}

/// What is left to decide once the pins are fixed: loads and seats net of the pins, and per
/// application its distinct candidates with load left (see [`primal_dual::Pairs`]).
struct Remaining {
    loads: Vec<u32>,
    needs: Vec<u32>,
    pinned: Vec<Vec<usize>>,
    pinned_affinity: i64,
    start: Vec<u32>,
    expert: Vec<u32>,
    affinity: Vec<i64>,
}

impl Remaining {
    fn after_pins(instance: &Instance) -> Result<Self, Infeasible> {
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

        // Each application must have enough distinct candidates left. An expert listed twice
        // counts once, at the position of their first listing, with the larger affinity.
        let mut short = Vec::new();
        let mut start = Vec::with_capacity(instance.applications.len() + 1);
        let mut expert = Vec::new();
        let mut affinity = Vec::new();
        // Per expert: the application that last listed them (as index + 1), and where.
        let mut listed_by = vec![0usize; experts];
        let mut listed_at = vec![0usize; experts];
        start.push(0u32);
        for (a, demand) in instance.applications.iter().enumerate() {
            let first = expert.len();
            for c in &demand.candidates {
                let e = c.expert;
                if e >= experts || pinned[a].contains(&e) || loads[e] == 0 {
                    continue;
                }
                if listed_by[e] == a + 1 {
                    let at = listed_at[e];
                    affinity[at] = c.affinity.max(affinity[at]);
                } else {
                    listed_by[e] = a + 1;
                    listed_at[e] = expert.len();
                    expert.push(e as u32);
                    affinity.push(c.affinity);
                }
            }
            start.push(expert.len() as u32);
            let distinct = (expert.len() - first) as u32;
            let needed = demand.experts_needed - pinned[a].len() as u32;
            if distinct < needed {
                short.push(Shortfall {
                    application: a,
                    available: distinct + pinned[a].len() as u32,
                    needed: demand.experts_needed,
                });
            }
        }
        if !short.is_empty() {
            return Err(Infeasible::TooFewCandidates(short));
        }

        let needs = instance
            .applications
            .iter()
            .zip(&pinned)
            .map(|(d, p)| d.experts_needed - p.len() as u32)
            .collect();
        Ok(Self {
            loads,
            needs,
            pinned,
            pinned_affinity,
            start,
            expert,
            affinity,
        })
    }

    fn pairs(&self) -> primal_dual::Pairs<'_> {
        primal_dual::Pairs {
            start: &self.start,
            expert: &self.expert,
            affinity: &self.affinity,
        }
    }

    fn finish(
        self,
        instance: &Instance,
        outcome: primal_dual::Outcome,
    ) -> Result<Assignment, Infeasible> {
        let required: u64 = self.needs.iter().map(|&n| u64::from(n)).sum();
        let mut experts_of = self.pinned;
        for (list, assigned) in experts_of.iter_mut().zip(outcome.assigned) {
            list.extend(assigned);
        }
        if outcome.filled < required {
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
        Ok(Assignment {
            experts: experts_of,
            total_affinity: self.pinned_affinity + outcome.affinity,
        })
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

    /// A random instance of up to 30 experts and 25 applications: affinity ranges from heavy
    /// ties (0–2) to wide (about a million, some negative), duplicate listings, pins, and
    /// loads that are often too small.
    fn medium_instance(rng: &mut Lcg) -> Instance {
        let experts = 2 + rng.next(29) as usize;
        let apps = 1 + rng.next(25) as usize;
        let k = 1 + rng.next(4) as u32;
        let spread = [3u64, 100, 1_000_003][rng.next(3) as usize];
        let density = 3 + rng.next(7);
        Instance {
            expert_loads: (0..experts).map(|_| rng.next(5) as u32).collect(),
            applications: (0..apps)
                .map(|_| {
                    let mut candidates = Vec::new();
                    for e in 0..experts {
                        if rng.next(10) < density {
                            let affinity = rng.next(spread) as i64 - (spread / 4) as i64;
                            candidates.push(Candidate {
                                expert: e,
                                affinity,
                            });
                            if rng.next(20) == 0 {
                                candidates.push(Candidate {
                                    expert: e,
                                    affinity: affinity + rng.next(5) as i64 - 2,
                                });
                            }
                        }
                    }
                    let pinned = if !candidates.is_empty() && rng.next(6) == 0 {
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

    /// Runs the primal–dual solver and the previous one on what remains after the pins; checks
    /// the primal–dual flow is valid and that both fill the same number of seats at the same
    /// total affinity (both are minimum-cost maximum flows). Returns whether all seats were
    /// filled, or `None` if the pins or candidates already rule the instance out.
    fn check_against_reference(instance: &Instance) -> Option<bool> {
        let remaining = Remaining::after_pins(instance).ok()?;
        let pairs = remaining.pairs();
        let new = primal_dual::solve(&remaining.loads, &remaining.needs, &pairs);

        let apps = remaining.needs.len();
        let candidates: Vec<Vec<Candidate>> = (0..apps)
            .map(|a| {
                (pairs.start[a] as usize..pairs.start[a + 1] as usize)
                    .map(|i| Candidate {
                        expert: pairs.expert[i] as usize,
                        affinity: pairs.affinity[i],
                    })
                    .collect()
            })
            .collect();
        let required: i64 = remaining.needs.iter().map(|&n| i64::from(n)).sum();
        let mut old = reference::Network::build(&remaining.loads, &candidates, &remaining.needs);
        let pushed = old.min_cost_flow(required);
        assert_eq!(new.filled as i64, pushed, "same flow value on {instance:?}");
        assert_eq!(
            new.affinity,
            old.assigned_affinity(),
            "same optimum on {instance:?}"
        );

        let mut used = vec![0u32; remaining.loads.len()];
        let mut total = 0;
        for (a, experts) in new.assigned.iter().enumerate() {
            assert!(experts.len() as u32 <= remaining.needs[a], "within seats");
            let mut distinct = experts.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), experts.len(), "distinct experts");
            for &e in experts {
                let c = candidates[a].iter().find(|c| c.expert == e);
                total += c.expect("only candidate pairs").affinity;
                used[e] += 1;
            }
        }
        assert_eq!(total, new.affinity, "reported affinity matches the pairs");
        assert_eq!(
            new.assigned.iter().map(Vec::len).sum::<usize>() as u64,
            new.filled
        );
        for (e, &n) in used.iter().enumerate() {
            assert!(n <= remaining.loads[e], "expert {e} within load");
        }
        Some(new.filled as i64 == required)
    }

    #[test]
    fn primal_dual_matches_the_previous_solver_on_random_instances() {
        let mut rng = Lcg(7);
        let (mut full, mut short) = (0, 0);
        for _ in 0..600 {
            let instance = medium_instance(&mut rng);
            match check_against_reference(&instance) {
                Some(true) => {
                    full += 1;
                    let result = solve(&instance).unwrap();
                    assert_valid(&instance, &result);
                }
                Some(false) => {
                    short += 1;
                    assert!(matches!(
                        solve(&instance),
                        Err(Infeasible::LoadsTooSmall(_))
                    ));
                }
                None => {}
            }
        }
        assert!(
            full > 100 && short > 50,
            "both kinds were checked: {full} fully solved, {short} short of load"
        );
    }

    #[test]
    fn primal_dual_matches_the_previous_solver_on_a_benchmark_shaped_instance() {
        // Like the benchmark: fields, 60 candidates per application, k = 7, loads 15–25,
        // affinities 20–100 with many ties.
        let mut rng = Lcg(11);
        let (experts, apps, fields) = (120usize, 300usize, 6u64);
        let field: Vec<u64> = (0..experts).map(|_| rng.next(fields)).collect();
        let instance = Instance {
            expert_loads: (0..experts).map(|_| 15 + rng.next(11) as u32).collect(),
            applications: (0..apps)
                .map(|_| {
                    let own = rng.next(fields);
                    let mut candidates = Vec::new();
                    for (e, &f) in field.iter().enumerate() {
                        if rng.next(2) == 0 && candidates.len() < 60 {
                            let base = if f == own { 60 } else { 20 };
                            candidates.push(Candidate {
                                expert: e,
                                affinity: base + rng.next(41) as i64,
                            });
                        }
                    }
                    Demand {
                        experts_needed: 7,
                        candidates,
                        pinned: vec![],
                    }
                })
                .collect(),
        };
        assert_eq!(check_against_reference(&instance), Some(true));
        let result = solve(&instance).unwrap();
        assert_valid(&instance, &result);
    }

    #[test]
    fn the_bucket_queue_pops_in_key_order_past_its_buckets() {
        let mut queue = bucket_queue::BucketQueue::new();
        for (key, node) in [(5, 1), (0, 2), (1 << 20, 3), (5, 4), (4095, 5), (4096, 6)] {
            queue.push(key, node);
        }
        let mut popped = vec![queue.pop().unwrap()];
        queue.push(7, 7);
        queue.push(1 << 40, 8);
        while let Some(entry) = queue.pop() {
            popped.push(entry);
        }
        let keys: Vec<i64> = popped.iter().map(|&(k, _)| k).collect();
        assert_eq!(keys, [0, 5, 5, 7, 4095, 4096, 1 << 20, 1 << 40]);
        let mut nodes: Vec<u32> = popped.iter().map(|&(_, n)| n).collect();
        nodes.sort_unstable();
        assert_eq!(nodes, [1, 2, 3, 4, 5, 6, 7, 8]);

        // `clear` forgets what is left and starts the keys again from 0.
        queue.clear();
        queue.push(3, 1);
        queue.push(10, 2);
        queue.push(5000, 3);
        assert_eq!(queue.pop(), Some((3, 1)));
        queue.clear();
        queue.push(0, 4);
        assert_eq!(queue.pop(), Some((0, 4)));
        assert_eq!(queue.pop(), None);
    }
}
