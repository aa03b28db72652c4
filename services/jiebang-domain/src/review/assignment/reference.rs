//! The previous solver, kept for tests only: successive shortest paths on a general residual
//! network (binary-heap Dijkstra on reduced costs, then a Dinic blocking flow on the admissible
//! subgraph). It is slow on large instances but simple, so the tests compare the primal–dual
//! solver's optimum with it on random instances.

use super::Candidate;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy)]
struct Edge {
    to: usize,
    /// Index of the reverse edge in `edges`.
    rev: usize,
    cap: i64,
    cost: i64,
}

/// The residual network of one instance.
pub(super) struct Network {
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
    pub(super) fn build(loads: &[u32], candidates: &[Vec<Candidate>], needs: &[u32]) -> Self {
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
    pub(super) fn min_cost_flow(&mut self, required: i64) -> i64 {
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

    pub(super) fn assigned_affinity(&self) -> i64 {
        self.pairs
            .iter()
            .filter(|(_, _, index)| self.edges[*index].cap == 0)
            .map(|(_, _, index)| -self.edges[*index].cost)
            .sum()
    }
}
