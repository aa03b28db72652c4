//! Stages 5 and 6: expert review to ranking, then the public notice, an objection and the
//! appointment.

use super::data::{self, Which};
use super::round::{Demo, date};
use super::session::Step;
use anyhow::{Context, Result, bail};
use jiebang_proto::v1 as pb;
use std::collections::BTreeMap;

impl Demo {
    // ---------------------------------------------------------------- stage 5

    pub async fn review(&mut self) -> Result<()> {
        for which in [Which::Porcelain, Which::Compressor] {
            self.review_one(which).await?;
        }
        Ok(())
    }

    async fn review_one(&mut self, which: Which) -> Result<()> {
        let challenge = self.challenge(which).name.clone();
        let title = self.challenge(which).title.clone();
        let mut admin = self.s.as_(&self.admin).await?.review;
        let solved = admin
            .solve_assignments(pb::SolveAssignmentsRequest {
                challenge: challenge.clone(),
                experts_per_application: 3,
                ..Default::default()
            })
            .await
            .step(&self.s, "assign experts")?;
        if !solved.feasible {
            bail!(
                "no conflict-free assignment: {:?}",
                solved.infeasibility_reasons
            );
        }
        self.say(format!(
            "✓ 「{title}」: {} applications × 3 experts assigned from {} candidates \
             (optimal total affinity {})",
            solved.application_count, solved.candidate_expert_count, solved.total_affinity
        ));
        let conflicts = admin
            .list_conflicts(pb::ListConflictsRequest {
                parent: challenge.clone(),
                ..Default::default()
            })
            .await
            .step(&self.s, "list the conflicts of interest")?
            .conflicts;
        let mut seen = Vec::new();
        for c in &conflicts {
            let who = self
                .expert_by_name(&c.expert)
                .map(|e| e.person.display_name.clone())
                .unwrap_or_default();
            let line = match pb::ConflictType::try_from(c.r#type) {
                Ok(pb::ConflictType::Publisher) => format!("{who} works for the publisher"),
                Ok(pb::ConflictType::SameOrganization) => {
                    let of = self
                        .team_of_application(&c.application)
                        .map(|t| t.lead.org_name.clone())
                        .unwrap_or_default();
                    format!("{who} works at {of}, which applies")
                }
                _ => format!("{who} declared a conflict"),
            };
            if !seen.contains(&line) {
                seen.push(line);
            }
        }
        if !seen.is_empty() {
            self.say(format!(
                "  conflicts of interest kept apart: {}",
                seen.join("; ")
            ));
        }

        // The chair: the expert with the most seats on this panel.
        let mut seats: BTreeMap<String, usize> = BTreeMap::new();
        for a in &solved.assignments {
            *seats.entry(a.expert.clone()).or_default() += 1;
        }
        let chair_name = seats
            .iter()
            .max_by_key(|(name, n)| (**n, std::cmp::Reverse((*name).clone())))
            .map(|(name, _)| name.clone())
            .context("nobody was assigned")?;
        admin
            .set_panel_chair(pb::SetPanelChairRequest {
                name: format!("{challenge}/reviewPanel"),
                chair: chair_name.clone(),
                request_id: crate::commands::request_id(),
            })
            .await
            .step(&self.s, "name the panel chair")?;
        let chair = self
            .expert_by_name(&chair_name)
            .context("the chair is one of the demo's experts")?
            .person
            .clone();

        // Each expert opens the blind view and seals a score sheet for each assignment.
        let mut by_application: BTreeMap<String, Vec<&pb::Assignment>> = BTreeMap::new();
        for a in &solved.assignments {
            by_application
                .entry(a.application.clone())
                .or_default()
                .push(a);
        }
        let mut sheets = 0;
        for (application, mut assignments) in by_application {
            assignments.sort_by(|a, b| a.expert.cmp(&b.expert));
            let scores = self
                .team_of_application(&application)
                .map(|t| t.spec.scores)
                .context("an application of the demo")?;
            for (assignment, fraction) in assignments.into_iter().zip(scores) {
                let expert = self
                    .expert_by_name(&assignment.expert)
                    .context("an expert of the demo")?
                    .person
                    .clone();
                let mut theirs = self.s.as_(&expert).await?.review;
                theirs
                    .open_assignment(pb::OpenAssignmentRequest {
                        name: assignment.name.clone(),
                        request_id: crate::commands::request_id(),
                    })
                    .await
                    .step(&self.s, "open the assignment")?;
                let draft = theirs
                    .save_score_sheet(pb::SaveScoreSheetRequest {
                        assignment: assignment.name.clone(),
                        score_sheet: Some(data::score_sheet(fraction)),
                        request_id: crate::commands::request_id(),
                    })
                    .await
                    .step(&self.s, "save the score sheet")?
                    .score_sheet
                    .context("no sheet returned")?;
                theirs
                    .submit_score_sheet(pb::SubmitScoreSheetRequest {
                        name: draft.name,
                        etag: draft.etag,
                        request_id: crate::commands::request_id(),
                    })
                    .await
                    .step(&self.s, "seal the score sheet")?;
                sheets += 1;
            }
        }
        self.say(format!(
            "✓ {sheets} score sheets sealed (SHA-256) by the experts, who saw only the blind view"
        ));

        let mut chairs = self.s.as_(&chair).await?.review;
        let ranking = chairs
            .list_ranking(pb::ListRankingRequest {
                challenge: challenge.clone(),
                ..Default::default()
            })
            .await
            .step(&self.s, "rank the applications")?;
        for entry in &ranking.ranking_entries {
            if entry.dispersion_flagged && entry.dispersion_resolution.is_none() {
                let totals: Vec<&str> = entry
                    .sheet_totals
                    .iter()
                    .map(|t| t.total.as_str())
                    .collect();
                chairs
                    .record_dispersion_resolution(pb::RecordDispersionResolutionRequest {
                        application: entry.application.clone(),
                        reason:
                            "专家组会议复议：分歧源于对釉料工艺成熟度的不同判断，经讨论维持原评分。"
                                .into(),
                        request_id: crate::commands::request_id(),
                    })
                    .await
                    .step(&self.s, "resolve the dispersion")?;
                self.say(format!(
                    "⚖ sheets of {} differ by more than 20 points ({}): chair {} records \
                     the panel's resolution",
                    entry.label,
                    totals.join(", "),
                    chair.display_name
                ));
            }
        }
        for entry in &ranking.ranking_entries {
            if let Some(team) = self
                .teams
                .iter_mut()
                .find(|t| t.application == entry.application)
            {
                team.final_score = entry.final_score.clone();
                self.bar.suspend(|| {
                    println!(
                        "    {}. {} — {} ({})",
                        entry.rank, entry.final_score, team.lead.org_name, team.spec.title
                    );
                });
            }
        }
        if let Some(run) = self.challenges.iter_mut().find(|c| c.which == which) {
            run.chair = Some(chair);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- stage 6

    pub async fn notice_and_appointment(&mut self) -> Result<()> {
        let mut notices = Vec::new();
        for which in [Which::Porcelain, Which::Compressor] {
            let run = self.challenge(which);
            let chair = run.chair.clone().context("a chair was named")?;
            let notice = self
                .s
                .as_(&chair)
                .await?
                .review
                .propose_winners(pb::ProposeWinnersRequest {
                    challenge: run.name.clone(),
                    ..Default::default()
                })
                .await
                .step(&self.s, "propose the winners")?
                .public_notice
                .context("no notice returned")?;
            let names: Vec<String> = notice
                .proposed_winners
                .iter()
                .filter_map(|w| self.team_of_application(&w.application))
                .map(|t| t.lead.org_name.clone())
                .collect();
            self.say(format!(
                "✓ 「{}」 notices its proposed winners for {} working days, until {}: {}",
                run.title,
                notice.working_days,
                date(notice.end_time.as_ref()),
                names.join(", ")
            ));
            notices.push(notice);
        }

        // The runner-up of the porcelain challenge objects, in its own name; the bureau
        // investigates and dismisses it.
        let porcelain = self.challenge(Which::Porcelain).name.clone();
        let winner = notices[0]
            .proposed_winners
            .first()
            .context("a proposed winner")?
            .application
            .clone();
        let objector = self
            .teams
            .iter()
            .find(|t| {
                t.spec.which == Which::Porcelain
                    && t.application != winner
                    && t.outcome == "submitted"
            })
            .context("a runner-up")?
            .lead
            .clone();
        let filed = self
            .s
            .as_(&objector)
            .await?
            .review
            .file_objection(pb::FileObjectionRequest {
                parent: porcelain.clone(),
                objection: Some(pb::Objection {
                    contact: Some(pb::Contact {
                        person: objector.display_name.clone(),
                        phone: "13900000000".into(),
                        email: String::new(),
                    }),
                    application: winner.clone(),
                    grounds: "该团队申报的机电破坏负荷数据与其公开发表的数据不一致。".into(),
                    ..Default::default()
                }),
                request_id: crate::commands::request_id(),
            })
            .await
            .step(&self.s, "file an objection")?
            .objection
            .context("no objection returned")?;
        self.say(format!(
            "✋ {} ({}) objects to the proposed winner, in their own name",
            objector.display_name, objector.org_name
        ));
        self.s
            .as_(&self.admin)
            .await?
            .review
            .rule_on_objection(pb::RuleOnObjectionRequest {
                name: filed.name,
                outcome: pb::ObjectionState::Dismissed as i32,
                reason:
                    "经核查，公开发表数据为早期样品结果，与申报的型式试验数据不矛盾，不予支持。"
                        .into(),
                ..Default::default()
            })
            .await
            .step(&self.s, "rule on the objection")?;
        self.say("✓ the bureau checks the test reports and dismisses the objection");

        self.advance(10, "the notices have run their five working days")
            .await?;
        let admin = self.s.as_(&self.admin).await?;
        for which in [Which::Porcelain, Which::Compressor] {
            let run = self.challenge(which);
            let appointed = admin
                .review
                .clone()
                .appoint_winners(pb::AppointWinnersRequest {
                    challenge: run.name.clone(),
                    ..Default::default()
                })
                .await
                .step(&self.s, "appoint the winners")?;
            let title = run.title.clone();
            for application in appointed.applications {
                let released = admin
                    .milestones
                    .clone()
                    .release_tranche(pb::ReleaseTrancheRequest {
                        project: application.project.clone(),
                        milestone: String::new(),
                        request_id: crate::commands::request_id(),
                    })
                    .await
                    .step(&self.s, "release the signing tranche")?
                    .disbursement
                    .context("no disbursement returned")?;
                if let Some(team) = self
                    .teams
                    .iter_mut()
                    .find(|t| t.application == application.name)
                {
                    team.project = application.project.clone();
                    team.paid_fen = released.cumulative_fen;
                    team.outcome = "appointed (挂帅)".into();
                    let line = format!(
                        "🎖 {} is appointed (挂帅) to 「{title}」; signing tranche {} paid",
                        team.lead.org_name,
                        crate::views::yuan(released.amount_fen)
                    );
                    self.say(line);
                }
            }
        }
        for team in &mut self.teams {
            if team.outcome == "submitted" {
                team.outcome = "not selected".into();
            }
        }
        Ok(())
    }
}
