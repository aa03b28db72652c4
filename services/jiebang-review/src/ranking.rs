//! The ranking of a challenge (排名): every sealed sheet of every reviewed application,
//! aggregated and ranked by [`jiebang_domain::review::aggregation::rank`], with the
//! tie-breaks, thresholds, dispersion flags and resolutions. ListRanking, dispersion
//! resolution, the shortlist, the notice and appointment all read it.
//!
//! Computing it needs every sheet; showing it does not. [`Ranking::read`] aggregates and ranks
//! everything, and [`Ranking::entry`] renders one position, so a page of ListRanking renders
//! its page alone (at 100,000 applications rendering all of them is a fifth of the time).

use crate::convert::application_name;
use jiebang_domain::Timestamp;
use jiebang_domain::application::ApplicationState;
use jiebang_domain::challenge::{AggregationMethod, Challenge, Criterion, CriterionKind};
use jiebang_domain::review::aggregation::{Outcome, Scored, rank};
use jiebang_grpc::ApiError;
use jiebang_grpc::convert::to_proto_time;
use jiebang_proto::v1 as pb;
use jiebang_storage::review::{self as rows, RankingApplication};
use jiebang_storage::{Dialect, Store, StoreError};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

/// A challenge's aggregated and ranked applications, best first.
pub struct Ranking {
    challenge_id: String,
    blind: bool,
    criteria: Vec<Criterion>,
    /// A criterion mean at or above `weight × threshold` meets its threshold.
    threshold: Decimal,
    trimmed_method: bool,
    heaviest: Option<usize>,
    technical: Option<usize>,
    /// The applications under review (or past it), in id order.
    reviewed: Vec<RankingApplication>,
    /// Live (not withdrawn) assignments of each of `reviewed`, in the same order.
    expected: Vec<usize>,
    /// Best first; `order[p]` is the index in `reviewed` of `outcomes[p]`.
    outcomes: Vec<Outcome>,
    order: Vec<usize>,
    resolutions: Resolutions,
}

/// Resolved dispersions: application id → (reason, resolver, when).
type Resolutions = BTreeMap<String, (String, String, Timestamp)>;

/// The applications a ranking covers, and where each is in its vectors.
struct Reviewed {
    /// Under review or past it, in id order.
    applications: Vec<RankingApplication>,
    /// Application id → its index in `applications`.
    index: HashMap<String, usize>,
}

impl Reviewed {
    async fn read(conn: &mut sqlx::AnyConnection, challenge_id: &str) -> Result<Self, ApiError> {
        let applications: Vec<RankingApplication> = rows::ranking_applications(conn, challenge_id)
            .await?
            .into_iter()
            .filter(|a| {
                matches!(
                    a.state,
                    ApplicationState::UnderReview
                        | ApplicationState::Shortlisted
                        | ApplicationState::NotSelected
                        | ApplicationState::ProposedWinner
                        | ApplicationState::Appointed
                )
            })
            .collect();
        let index = applications
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        Ok(Self {
            applications,
            index,
        })
    }

    /// The sealed sheets of each application, scores aligned with the criteria.
    async fn sheets(
        &self,
        conn: &mut sqlx::AnyConnection,
        challenge: &Challenge,
    ) -> Result<Vec<Vec<Vec<Decimal>>>, ApiError> {
        let mut sheets: Vec<Vec<Vec<Decimal>>> = vec![Vec::new(); self.applications.len()];
        rows::sheet_scores_of_challenge(
            conn,
            &challenge.id,
            "SUBMITTED",
            &challenge.spec.criteria,
            |application_id, aligned| {
                if let Some(&i) = self.index.get(application_id) {
                    sheets[i].push(aligned);
                }
            },
        )
        .await?;
        Ok(sheets)
    }

    /// The live assignments of each application, and the resolved dispersions.
    async fn counts_and_resolutions(
        &self,
        conn: &mut sqlx::AnyConnection,
        challenge_id: &str,
    ) -> Result<(Vec<usize>, Resolutions), ApiError> {
        let mut expected = vec![0; self.applications.len()];
        for (application_id, n) in rows::live_assignment_counts(&mut *conn, challenge_id).await? {
            if let Some(&i) = self.index.get(application_id.as_str()) {
                expected[i] = usize::try_from(n).unwrap_or(0);
            }
        }
        let resolutions = rows::resolutions(conn, challenge_id)
            .await?
            .into_iter()
            .map(|(a, reason, who, at)| (a, (reason, who, at)))
            .collect();
        Ok((expected, resolutions))
    }
}

impl Ranking {
    /// Reads and ranks a challenge's applications, every read on `conn` (e.g. `tx.conn()`,
    /// which then sees the transaction's own writes). Each table is read once, streamed, and
    /// grouped by application here: no per-application query and no scan of every sheet per
    /// application.
    pub async fn read(
        conn: &mut sqlx::AnyConnection,
        challenge: &Challenge,
    ) -> Result<Self, ApiError> {
        let reviewed = Reviewed::read(&mut *conn, &challenge.id).await?;
        let sheets = reviewed.sheets(&mut *conn, challenge).await?;
        let (expected, resolutions) = reviewed
            .counts_and_resolutions(&mut *conn, &challenge.id)
            .await?;
        Self::rank(challenge, reviewed, sheets, expected, resolutions)
    }

    /// [`Self::read`] outside a transaction. On PostgreSQL the sheets stream on one pooled
    /// connection while the assignment counts and resolutions are read on another, so the
    /// database counts assignments while this process parses sheets (at 100,000 applications
    /// the sheets take most of the time). Each read holds one connection and waits for no
    /// other, so callers cannot starve the pool between them; every read is its own statement
    /// either way, as in [`Self::read`] outside a transaction. On SQLite, whose reads run on
    /// this process's cores, doing two at once only made them compete: one connection reads
    /// all.
    pub async fn read_pooled(store: &Store, challenge: &Challenge) -> Result<Self, ApiError> {
        let pool = store.pool();
        if store.dialect() == Dialect::Sqlite {
            let mut conn = pool.acquire().await.map_err(StoreError::from)?;
            return Self::read(&mut conn, challenge).await;
        }
        let reviewed = {
            let mut conn = pool.acquire().await.map_err(StoreError::from)?;
            Reviewed::read(&mut conn, &challenge.id).await?
        };
        let (sheets, (expected, resolutions)) = tokio::try_join!(
            async {
                let mut conn = pool.acquire().await.map_err(StoreError::from)?;
                reviewed.sheets(&mut conn, challenge).await
            },
            async {
                let mut conn = pool.acquire().await.map_err(StoreError::from)?;
                reviewed
                    .counts_and_resolutions(&mut conn, &challenge.id)
                    .await
            },
        )?;
        Self::rank(challenge, reviewed, sheets, expected, resolutions)
    }

    fn rank(
        challenge: &Challenge,
        reviewed: Reviewed,
        sheets: Vec<Vec<Vec<Decimal>>>,
        expected: Vec<usize>,
        resolutions: Resolutions,
    ) -> Result<Self, ApiError> {
        let Reviewed {
            applications: reviewed,
            index,
        } = reviewed;
        let criteria = &challenge.spec.criteria;
        let scored: Vec<Scored> = reviewed
            .iter()
            .zip(sheets)
            .map(|(a, sheets)| Scored {
                application_id: a.id.clone(),
                requested_budget_fen: a.requested_budget_fen,
                sheets,
            })
            .collect();
        let outcomes = rank(criteria, &challenge.spec.review, &scored);
        drop(scored);
        let order = outcomes
            .iter()
            .map(|o| {
                index
                    .get(o.application_id.as_str())
                    .copied()
                    .ok_or_else(|| StoreError::Corrupt("ranked an unknown application".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        drop(index);
        Ok(Self {
            challenge_id: challenge.id.clone(),
            blind: challenge.spec.blind_review,
            threshold: Decimal::from(challenge.spec.review.criterion_threshold_percent)
                / Decimal::ONE_HUNDRED,
            trimmed_method: challenge.spec.review.aggregation_method
                == AggregationMethod::TrimmedMean,
            heaviest: criteria
                .iter()
                .enumerate()
                .max_by(|(ia, a), (ib, b)| a.weight.cmp(&b.weight).then(ib.cmp(ia)))
                .map(|(i, _)| i),
            technical: criteria
                .iter()
                .position(|c| c.kind == CriterionKind::TechnicalFeasibility),
            criteria: criteria.clone(),
            reviewed,
            expected,
            outcomes,
            order,
            resolutions,
        })
    }

    /// How many applications are ranked.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// Every expected sheet of every ranked application is submitted.
    pub fn complete(&self) -> bool {
        self.order
            .iter()
            .zip(&self.outcomes)
            .all(|(&i, o)| o.totals.len() >= self.expected[i])
    }

    /// Dispersion flags not yet resolved.
    pub fn open_dispersions(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.dispersion.is_some() && !self.resolutions.contains_key(&o.application_id))
            .count()
    }

    /// The entry of one application (`challenges/{c}/applications/{a}`), if it is ranked.
    pub fn entry_of(&self, application: &str, as_chair: bool) -> Option<pb::RankingEntry> {
        let prefix = application_name(&self.challenge_id, "");
        let id = application.strip_prefix(&prefix)?;
        let position = self.outcomes.iter().position(|o| o.application_id == id)?;
        Some(self.entry(position, as_chair))
    }

    /// The entries at `positions` (clamped to the ranking), best first. `as_chair` hides the
    /// lead organisation of a blind review.
    pub fn entries(&self, positions: Range<usize>, as_chair: bool) -> Vec<pb::RankingEntry> {
        let end = positions.end.min(self.len());
        (positions.start.min(end)..end)
            .map(|p| self.entry(p, as_chair))
            .collect()
    }

    /// Every entry, best first.
    pub fn all_entries(&self, as_chair: bool) -> Vec<pb::RankingEntry> {
        self.entries(0..self.len(), as_chair)
    }

    /// The entry at `position` (0-based, less than [`Self::len`]).
    pub fn entry(&self, position: usize, as_chair: bool) -> pb::RankingEntry {
        let outcome = &self.outcomes[position];
        let application = &self.reviewed[self.order[position]];
        let expected = self.expected[self.order[position]];
        let submitted = outcome.totals.len();
        let tie_break = match self.outcomes.get(position + 1) {
            Some(next)
                if next.final_score == outcome.final_score && next.passes() == outcome.passes() =>
            {
                let at = |o: &Outcome, i: Option<usize>| {
                    i.and_then(|i| o.criterion_scores.get(i).copied())
                };
                let next_budget = self.reviewed[self.order[position + 1]].requested_budget_fen;
                if at(outcome, self.heaviest) != at(next, self.heaviest) {
                    pb::TieBreak::HeaviestCriterion
                } else if at(outcome, self.technical) != at(next, self.technical) {
                    pb::TieBreak::TechnicalFeasibility
                } else if application.requested_budget_fen != next_budget {
                    pb::TieBreak::LowerBudget
                } else {
                    pb::TieBreak::Unresolved
                }
            }
            _ => pb::TieBreak::None,
        };
        let mut totals = outcome.totals.clone();
        totals.sort();
        let trimmed = self.trimmed_method && totals.len() >= 5;
        let name = application_name(&self.challenge_id, &application.id);
        pb::RankingEntry {
            rank: i32::try_from(position + 1).unwrap_or(i32::MAX),
            label: jiebang_application::blind::label_at(application.position),
            title: application.title.clone(),
            lead_organization: if as_chair && self.blind {
                String::new()
            } else {
                format!("organizations/{}", application.lead_organization_id)
            },
            state: crate::convert::application_state(application.state),
            final_score: if submitted >= expected && submitted > 0 {
                outcome.final_score.to_string()
            } else {
                String::new()
            },
            criterion_results: self
                .criteria
                .iter()
                .zip(&outcome.criterion_scores)
                .map(|(c, mean)| pb::CriterionResult {
                    criterion: c.name.clone(),
                    weight: c.weight,
                    mean: mean.to_string(),
                    threshold_met: *mean >= Decimal::from(c.weight) * self.threshold,
                })
                .collect(),
            submitted_sheet_count: i32::try_from(submitted).unwrap_or(i32::MAX),
            expected_sheet_count: i32::try_from(expected).unwrap_or(i32::MAX),
            sheet_totals: totals
                .iter()
                .enumerate()
                .map(|(i, t)| pb::SheetTotal {
                    // Opaque: the position among the sorted totals, never the expert.
                    score_sheet: format!("{name}#{}", i + 1),
                    total: t.normalize().to_string(),
                    trimmed: trimmed && (i == 0 || i + 1 == totals.len()),
                })
                .collect(),
            dispersion_flagged: outcome.dispersion.is_some(),
            dispersion_resolution: self.resolutions.get(&application.id).map(
                |(reason, who, at)| pb::DispersionResolution {
                    reason: reason.clone(),
                    resolver: format!("users/{who}"),
                    resolve_time: Some(to_proto_time(*at)),
                },
            ),
            eligible_for_award: outcome.passes(),
            requested_budget_fen: application.requested_budget_fen,
            tie_break: tie_break as i32,
            application: name,
        }
    }
}
