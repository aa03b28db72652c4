//! Benchmark of the exact expert assignment (prints figures; not a test).
//!
//! ```sh
//! cargo run --release -p jiebang-domain --example assignment_bench -- \
//!     --applications 5000 --experts 2000 --k 7 --candidates 200 [--seed 7] [--spread 1] \
//!     [--write instance.txt]
//! ```
//!
//! Instances are realistic and sparse: each application has `candidates` experts from its own
//! and neighbouring fields (others being conflicted or unrelated), affinities 0–100 from field
//! and keyword overlap, loads 15–25. `--write` saves the instance so
//! `bench/assignment/ortools_check.py` can solve it independently with OR-Tools.
//!
//! `--spread S` (a stress test, default 1) multiplies every affinity by `S` and adds a random
//! 0..S−1, so affinities take about `100 × S` distinct values instead of about 100; with the
//! default the instance is unchanged.

use jiebang_domain::review::assignment::{Candidate, Demand, Instance, solve};
use std::io::Write;
use std::time::Instant;

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

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn instance(
    applications: usize,
    experts: usize,
    k: u32,
    candidates: usize,
    seed: u64,
    spread: u64,
) -> Instance {
    let mut rng = Lcg(seed);
    let fields = 20;
    let expert_field: Vec<usize> = (0..experts).map(|_| rng.next(fields) as usize).collect();
    let mut by_field: Vec<Vec<usize>> = vec![Vec::new(); fields as usize];
    for (e, f) in expert_field.iter().enumerate() {
        by_field[*f].push(e);
    }
    Instance {
        expert_loads: (0..experts).map(|_| 15 + rng.next(11) as u32).collect(),
        applications: (0..applications)
            .map(|_| {
                let field = rng.next(fields) as usize;
                let mut chosen = std::collections::BTreeMap::new();
                let mut guard = 0;
                while chosen.len() < candidates.min(experts) && guard < candidates * 20 {
                    guard += 1;
                    // Mostly the application's own field and its neighbours.
                    let f = match rng.next(10) {
                        0..=5 => field,
                        6 | 7 => (field + 1) % fields as usize,
                        8 => (field + fields as usize - 1) % fields as usize,
                        _ => rng.next(fields) as usize,
                    };
                    let pool = &by_field[f];
                    if pool.is_empty() {
                        continue;
                    }
                    let e = pool[rng.next(pool.len() as u64) as usize];
                    let base = if f == field { 60 } else { 20 };
                    let mut affinity = base + rng.next(41) as i64;
                    if spread > 1 {
                        affinity = affinity * spread as i64 + rng.next(spread) as i64;
                    }
                    chosen.entry(e).or_insert(affinity);
                }
                Demand {
                    experts_needed: k,
                    candidates: chosen
                        .into_iter()
                        .map(|(expert, affinity)| Candidate { expert, affinity })
                        .collect(),
                    pinned: vec![],
                }
            })
            .collect(),
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let applications = arg(&args, "--applications", 5000);
    let experts = arg(&args, "--experts", 2000);
    let k = arg(&args, "--k", 7) as u32;
    let candidates = arg(&args, "--candidates", 200);
    let seed = arg(&args, "--seed", 7) as u64;
    let spread = arg(&args, "--spread", 1).max(1) as u64;
    let build = Instant::now();
    let inst = instance(applications, experts, k, candidates, seed, spread);
    let edges: usize = inst.applications.iter().map(|a| a.candidates.len()).sum();
    let built = build.elapsed();
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let path = args.get(i + 1).map_or("instance.txt", String::as_str);
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(
            out,
            "{} {} {}",
            inst.expert_loads.len(),
            inst.applications.len(),
            k
        )?;
        for load in &inst.expert_loads {
            write!(out, "{load} ")?;
        }
        writeln!(out)?;
        for a in &inst.applications {
            write!(out, "{}", a.candidates.len())?;
            for c in &a.candidates {
                write!(out, " {} {}", c.expert, c.affinity)?;
            }
            writeln!(out)?;
        }
    }
    let start = Instant::now();
    let result = solve(&inst);
    let solved = start.elapsed();
    println!("applications  experts  k  candidate pairs  build (s)  solve (s)  objective");
    match result {
        Ok(assignment) => println!(
            "{applications:>12}  {experts:>7}  {k}  {edges:>15}  {:>9.3}  {:>9.3}  {}",
            built.as_secs_f64(),
            solved.as_secs_f64(),
            assignment.total_affinity
        ),
        Err(why) => println!(
            "{applications:>12}  {experts:>7}  {k}  {edges:>15}  {:>9.3}  {:>9.3}  infeasible: {why:?}",
            built.as_secs_f64(),
            solved.as_secs_f64()
        ),
    }
    Ok(())
}
