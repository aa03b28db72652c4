//! Stages 7 to 9: milestones and their acceptance, the horse race's cut, the tranches, the
//! audit chain, and the summary table.

use super::data::{self, Which};
use super::round::{DAY, Demo, date, percent};
use super::session::Step;
use anyhow::{Context, Result, bail};
use jiebang_proto::v1 as pb;
use tonic_types::StatusExt;

impl Demo {
    // ---------------------------------------------------------------- stage 7

    pub async fn mid_term(&mut self) -> Result<()> {
        self.advance(330, "eleven months of work").await?;
        let running: Vec<usize> = (0..self.teams.len())
            .filter(|&i| !self.teams[i].project.is_empty())
            .collect();
        // Porcelain winner 520 kN against 500; compressor racers 5.9 and 5.7 kW/(m³/min)
        // against 6.0 (lower is better).
        let mut mids = Vec::new();
        for &i in &running {
            let value = match (self.teams[i].spec.which, self.teams[i].spec.lead.username) {
                (Which::Porcelain, _) => "520",
                (Which::Compressor, "demo.zhou") => "5.9",
                (Which::Compressor, _) => "5.7",
            };
            let milestone = self.milestone(i, 0).await?;
            self.report(i, &milestone, value).await?;
            self.accept(i, &milestone, pb::AcceptanceOutcome::Accepted, false)
                .await?;
            mids.push((i, milestone));
        }

        // The horse race: rank at mid-term, keep the best, stop the other.
        let compressor = self.challenge(Which::Compressor).name.clone();
        let publisher = self.person(Which::Compressor.publisher().username).clone();
        let entries = self
            .s
            .as_(&publisher)
            .await?
            .milestones
            .rank_horse_race(pb::RankHorseRaceRequest {
                challenge: compressor.clone(),
            })
            .await
            .step(&self.s, "rank the horse race")?
            .horse_race_entries;
        let best = entries.first().context("racers to rank")?.project.clone();
        for e in &entries {
            let who = self
                .teams
                .iter()
                .find(|t| t.project == e.project)
                .map(|t| t.lead.org_name.clone())
                .unwrap_or_default();
            self.say(format!(
                "  horse race at mid-term: {}. {who}, {} better than target",
                e.rank,
                percent(&e.relative_margin)
            ));
        }
        self.s
            .as_(&self.admin)
            .await?
            .milestones
            .select_horse_race_continuers(pb::SelectHorseRaceContinuersRequest {
                challenge: compressor,
                continuing_projects: vec![best.clone()],
                reason: "依据中期评估排名，择优继续支持。".into(),
                request_id: crate::commands::request_id(),
            })
            .await
            .step(&self.s, "select who continues the race")?;
        for team in &mut self.teams {
            if team.spec.which == Which::Compressor && !team.project.is_empty() {
                if team.project == best {
                    self.bar.suspend(|| {
                        println!("  🏇 {} continues the race", team.lead.org_name);
                    });
                } else {
                    team.outcome = "stopped at mid-term (赛马制)".into();
                    self.bar.suspend(|| {
                        println!(
                            "  ■ {} is stopped at mid-term and keeps what it was paid",
                            team.lead.org_name
                        );
                    });
                }
            }
        }
        // Mid-term tranches for the projects still running.
        for (i, milestone) in mids {
            if self.teams[i].outcome.starts_with("stopped") {
                continue;
            }
            self.release(i, &milestone).await?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- stage 8

    pub async fn final_acceptance(&mut self) -> Result<()> {
        self.advance(360, "the second year's work").await?;
        let running: Vec<usize> = (0..self.teams.len())
            .filter(|&i| {
                !self.teams[i].project.is_empty() && !self.teams[i].outcome.starts_with("stopped")
            })
            .collect();
        for i in running {
            let milestone = self.milestone(i, 1).await?;
            if self.teams[i].spec.which == Which::Porcelain {
                // 540 kN misses the mandatory 550: no plain acceptance, but one rework.
                self.report(i, &milestone, "540").await?;
                self.accept(i, &milestone, pb::AcceptanceOutcome::ReworkRequired, false)
                    .await?;
                self.advance(45, "the team reworks the firing curve")
                    .await?;
                self.report(i, &milestone, "565").await?;
                self.accept(i, &milestone, pb::AcceptanceOutcome::Accepted, true)
                    .await?;
            } else {
                self.report(i, &milestone, "5.5").await?;
                self.accept(i, &milestone, pb::AcceptanceOutcome::Accepted, false)
                    .await?;
            }
            self.release(i, &milestone).await?;
            self.teams[i].outcome = "completed".into();
        }
        let admin = self.s.as_(&self.admin).await?;
        for run in &self.challenges {
            let state = admin
                .challenges
                .clone()
                .get_challenge(pb::GetChallengeRequest {
                    name: run.name.clone(),
                })
                .await
                .step(&self.s, "read the challenge")?
                .challenge
                .context("no challenge returned")?
                .state;
            self.say(format!(
                "✓ 「{}」 is {}",
                run.title,
                crate::views::challenge_state(state)
            ));
        }
        Ok(())
    }

    /// The `index`-th milestone of team `i`'s project.
    async fn milestone(&self, i: usize, index: usize) -> Result<String> {
        let team = &self.teams[i];
        let milestones = self
            .s
            .as_(&team.lead)
            .await?
            .milestones
            .list_milestones(pb::ListMilestonesRequest {
                parent: team.project.clone(),
                ..Default::default()
            })
            .await
            .step(&self.s, "list the milestones")?
            .milestones;
        Ok(milestones
            .get(index)
            .context("the plan has two milestones")?
            .name
            .clone())
    }

    async fn report(&self, i: usize, milestone: &str, value: &str) -> Result<()> {
        let team = &self.teams[i];
        let which = team.spec.which;
        self.s
            .as_(&team.lead)
            .await?
            .milestones
            .submit_milestone_report(pb::SubmitMilestoneReportRequest {
                milestone: milestone.into(),
                milestone_report: Some(data::report(which, value)),
                ..Default::default()
            })
            .await
            .step(&self.s, "submit the milestone report")?;
        Ok(())
    }

    /// The bureau forms the panel (or calls the same one again), the panel votes, the bureau
    /// decides `outcome`.
    async fn accept(
        &self,
        i: usize,
        milestone: &str,
        outcome: pb::AcceptanceOutcome,
        same_panel: bool,
    ) -> Result<()> {
        let team = &self.teams[i];
        let which = team.spec.which;
        let admin = self.s.as_(&self.admin).await?;
        admin
            .milestones
            .clone()
            .form_acceptance_panel(pb::FormAcceptancePanelRequest {
                milestone: milestone.into(),
                seat_count: 3,
                reuse_previous_panel: same_panel,
                ..Default::default()
            })
            .await
            .step(&self.s, "form the acceptance panel")?;
        let vote = match outcome {
            pb::AcceptanceOutcome::ReworkRequired => pb::AcceptanceOutcome::ReworkRequired,
            _ => pb::AcceptanceOutcome::Accepted,
        };
        // The publisher holds the end user's seat; the experts not drawn are told so.
        let publisher = self.person(which.publisher().username).clone();
        let mut voters = vec![publisher];
        voters.extend(
            self.experts
                .iter()
                .filter(|e| e.field == which.field())
                .map(|e| e.person.clone()),
        );
        let mut votes = 0;
        for voter in voters {
            let cast = self
                .s
                .as_(&voter)
                .await?
                .milestones
                .cast_acceptance_vote(pb::CastAcceptanceVoteRequest {
                    milestone: milestone.into(),
                    outcome: vote as i32,
                    comment: "样机与第三方检测报告相符，结论如下。".into(),
                    request_id: crate::commands::request_id(),
                })
                .await;
            match cast {
                Ok(_) => votes += 1,
                Err(status)
                    if status
                        .get_details_error_info()
                        .is_some_and(|info| info.reason == "NOT_ON_PANEL") => {}
                Err(status) => return Err(self.s.failed("cast an acceptance vote", &status)),
            }
        }
        let rework_due = match outcome {
            pb::AcceptanceOutcome::ReworkRequired => {
                let now = self.now().await?;
                Some(prost_types::Timestamp {
                    seconds: now.seconds + i64::try_from(60 * DAY).unwrap_or(0),
                    nanos: 0,
                })
            }
            _ => None,
        };
        let decided = admin
            .milestones
            .clone()
            .decide_milestone(pb::DecideMilestoneRequest {
                name: milestone.into(),
                outcome: outcome as i32,
                reason: "依据验收专家组意见及考核指标核查结果。".into(),
                rework_due_time: rework_due,
                ..Default::default()
            })
            .await
            .step(&self.s, "decide the milestone")?
            .milestone
            .context("no milestone returned")?;
        let what = match outcome {
            pb::AcceptanceOutcome::ReworkRequired => format!(
                "misses the mandatory indicator: rework (整改) due {}",
                date(decided.due_time.as_ref())
            ),
            _ => "accepted (验收通过)".into(),
        };
        self.say(format!(
            "✓ {} 「{}」: {votes} panel votes; {what}",
            team.lead.org_name, decided.title
        ));
        Ok(())
    }

    async fn release(&mut self, i: usize, milestone: &str) -> Result<()> {
        let team = &self.teams[i];
        let paid = self
            .s
            .as_(&self.admin)
            .await?
            .milestones
            .release_tranche(pb::ReleaseTrancheRequest {
                project: team.project.clone(),
                milestone: milestone.into(),
                request_id: crate::commands::request_id(),
            })
            .await
            .step(&self.s, "release the tranche")?
            .disbursement
            .context("no disbursement returned")?;
        self.say(format!(
            "  ¥ {} paid to {} (cumulative {})",
            crate::views::yuan(paid.amount_fen),
            team.lead.org_name,
            crate::views::yuan(paid.cumulative_fen)
        ));
        self.teams[i].paid_fen = paid.cumulative_fen;
        Ok(())
    }

    // ---------------------------------------------------------------- stage 9

    pub async fn audit(&mut self) -> Result<()> {
        let verified = self
            .s
            .as_(&self.admin)
            .await?
            .audit
            .verify_audit_chain(pb::VerifyAuditChainRequest::default())
            .await
            .step(&self.s, "verify the audit chain")?;
        if !verified.intact {
            bail!("the audit chain is broken: {:?}", verified.breaks);
        }
        self.say(format!(
            "✓ intact: {} records in {} hash chains recomputed, no break",
            verified.records_checked, verified.chains_checked
        ));
        Ok(())
    }

    pub fn summary(&self) -> String {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_header(["榜单 Challenge", "揭榜方 Team", "Outcome", "Score", "Paid"]);
        for team in &self.teams {
            let challenge = &self.challenge(team.spec.which).title;
            let paid = if team.project.is_empty() {
                "—".to_owned()
            } else {
                crate::views::yuan(team.paid_fen)
            };
            table.add_row([
                challenge.clone(),
                team.lead.org_name.clone(),
                team.outcome.clone(),
                if team.final_score.is_empty() {
                    "—".into()
                } else {
                    team.final_score.clone()
                },
                paid,
            ]);
        }
        table.to_string()
    }
}
