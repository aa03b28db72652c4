//! The demo's state, and the first stages of the round: people, challenges, applications,
//! the deadline. [`super::award`] holds the review to appointment, [`super::projects`] the
//! years after it.

use super::data::{self, Fate, TeamSpec, Which};
use super::session::{Person, Session, Step};
use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use jiebang_proto::v1 as pb;
use std::collections::HashMap;
use tonic_types::StatusExt;

pub(super) const DAY: u64 = 86_400;

/// One of the round's challenges, as it goes.
pub(super) struct ChallengeRun {
    pub(super) which: Which,
    pub(super) name: String,
    pub(super) title: String,
    /// The panel chair, an expert of the pool.
    pub(super) chair: Option<Person>,
}

/// One team's journey.
pub(super) struct TeamRun {
    pub(super) spec: &'static TeamSpec,
    pub(super) lead: Person,
    pub(super) application: String,
    pub(super) final_score: String,
    pub(super) outcome: String,
    pub(super) project: String,
    /// What the bureau has paid the project so far.
    pub(super) paid_fen: i64,
}

pub(super) struct Expert {
    pub(super) name: String,
    pub(super) person: Person,
    pub(super) field: &'static str,
}

pub struct Demo {
    pub(super) s: Session,
    pub(super) bar: ProgressBar,
    pub(super) admin: Person,
    pub(super) round: String,
    /// Organisation key → (`organizations/{id}`, display name).
    pub(super) orgs: HashMap<&'static str, (String, String)>,
    pub(super) people: HashMap<&'static str, Person>,
    pub(super) experts: Vec<Expert>,
    pub(super) challenges: Vec<ChallengeRun>,
    pub(super) teams: Vec<TeamRun>,
    pub(super) seconds_moved: u64,
}

impl Demo {
    pub fn new(s: Session, admin: Person, round: String, bar: ProgressBar) -> Self {
        Self {
            s,
            bar,
            admin,
            round,
            orgs: HashMap::new(),
            people: HashMap::new(),
            experts: Vec::new(),
            challenges: Vec::new(),
            teams: Vec::new(),
            seconds_moved: 0,
        }
    }

    pub fn days_moved(&self) -> u64 {
        self.seconds_moved / DAY
    }

    pub(super) fn say(&self, line: impl AsRef<str>) {
        self.bar.suspend(|| println!("  {}", line.as_ref()));
    }

    pub(super) fn person(&self, username: &str) -> &Person {
        &self.people[username]
    }

    pub(super) fn challenge(&self, which: Which) -> &ChallengeRun {
        self.challenges
            .iter()
            .find(|c| c.which == which)
            .expect("challenges are published before use")
    }

    pub(super) fn team_of_application(&self, application: &str) -> Option<&TeamRun> {
        self.teams.iter().find(|t| t.application == application)
    }

    pub(super) fn expert_by_name(&self, name: &str) -> Option<&Expert> {
        self.experts.iter().find(|e| e.name == name)
    }

    pub(super) async fn now(&self) -> Result<prost_types::Timestamp> {
        self.s
            .as_(&self.admin)
            .await?
            .clock
            .get_clock(pb::GetClockRequest {})
            .await
            .step(&self.s, "read the clock")?
            .now
            .context("the server sent no time")
    }

    /// Moves the demo clock; every token has then expired, so everyone signs in again.
    pub(super) async fn advance(&mut self, days: u64, why: &str) -> Result<()> {
        let moved = self
            .s
            .as_(&self.admin)
            .await?
            .clock
            .advance_clock(pb::AdvanceClockRequest {
                by: Some(prost_types::Duration {
                    seconds: i64::try_from(days * DAY).unwrap_or(i64::MAX),
                    nanos: 0,
                }),
            })
            .await
            .step(&self.s, "move the demo clock")?;
        self.seconds_moved += days * DAY;
        self.s.forget_tokens();
        self.say(format!(
            "⏩ the demo clock moves {days} days to {} — {why}",
            date(moved.now.as_ref())
        ));
        Ok(())
    }

    // ---------------------------------------------------------------- stage 1

    pub async fn people(&mut self) -> Result<()> {
        let admin = self.s.as_(&self.admin).await?;
        let mut identity = admin.identity;
        let mut existing_orgs = HashMap::new();
        let mut page_token = String::new();
        loop {
            let page = identity
                .list_organizations(pb::ListOrganizationsRequest {
                    page_size: 100,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await
                .step(&self.s, "list organisations")?;
            for org in page.organizations {
                existing_orgs.insert(org.unified_social_credit_code.clone(), org);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let mut created = 0;
        for spec in data::ORGS {
            let code = data::credit_code(spec.key);
            let org = match existing_orgs.remove(&code) {
                Some(org) => org,
                None => {
                    created += 1;
                    identity
                        .create_organization(pb::CreateOrganizationRequest {
                            organization: Some(pb::Organization {
                                display_name: spec.name.into(),
                                r#type: spec.org_type as i32,
                                region: spec.region.into(),
                                unified_social_credit_code: code,
                                ..Default::default()
                            }),
                            request_id: crate::commands::request_id(),
                        })
                        .await
                        .step(&self.s, &format!("register {}", spec.name))?
                        .organization
                        .context("no organisation returned")?
                }
            };
            self.orgs.insert(spec.key, (org.name, org.display_name));
        }

        let mut existing_users = HashMap::new();
        let mut page_token = String::new();
        loop {
            let page = identity
                .list_users(pb::ListUsersRequest {
                    page_size: 100,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await
                .step(&self.s, "list users")?;
            for user in page.users {
                existing_users.insert(user.username.clone(), user);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let specs = data::PUBLISHERS
            .iter()
            .chain(data::TEAMS.iter().map(|t| &t.lead))
            .chain(data::EXPERTS.iter().map(|e| &e.person));
        let mut created_users = 0;
        for spec in specs {
            // Demo accounts have known passwords: a demo server is not a production one.
            let password = format!("{}-demo-password", spec.username);
            let (org, org_name) = self.orgs[spec.org].clone();
            let user = match existing_users.remove(spec.username) {
                Some(user) => user,
                None => {
                    created_users += 1;
                    identity
                        .create_user(pb::CreateUserRequest {
                            user: Some(pb::User {
                                username: spec.username.into(),
                                display_name: spec.display_name.into(),
                                role: spec.role as i32,
                                organization: org.clone(),
                                ..Default::default()
                            }),
                            initial_password: password.clone(),
                            request_id: crate::commands::request_id(),
                        })
                        .await
                        .step(&self.s, &format!("create the account {}", spec.username))?
                        .user
                        .context("no user returned")?
                }
            };
            self.people.insert(
                spec.username,
                Person {
                    username: spec.username.into(),
                    password,
                    display_name: user.display_name,
                    user: user.name,
                    org: user.organization,
                    org_name,
                },
            );
        }

        let mut review = self.s.as_(&self.admin).await?.review;
        let mut pool = HashMap::new();
        let mut page_token = String::new();
        loop {
            let page = review
                .list_experts(pb::ListExpertsRequest {
                    page_size: 100,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await
                .step(&self.s, "list the expert pool")?;
            for expert in page.experts {
                pool.insert(expert.user.clone(), expert.name);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        for spec in data::EXPERTS {
            let person = self.person(spec.person.username).clone();
            let name = match pool.remove(&person.user) {
                Some(name) => name,
                None => {
                    review
                        .create_expert(pb::CreateExpertRequest {
                            expert: Some(pb::Expert {
                                user: person.user.clone(),
                                fields_of_expertise: vec![spec.field.into()],
                                keywords: spec.keywords.iter().map(|k| (*k).into()).collect(),
                                affiliation: person.org.clone(),
                                max_load: 10,
                                ..Default::default()
                            }),
                            request_id: crate::commands::request_id(),
                        })
                        .await
                        .step(&self.s, &format!("add {} to the pool", person.display_name))?
                        .expert
                        .context("no expert returned")?
                        .name
                }
            };
            self.experts.push(Expert {
                name,
                person,
                field: spec.field,
            });
        }
        let reused = data::ORGS.len() - created;
        self.say(format!(
            "✓ {} organisations ({created} registered now, {reused} found from an earlier run)",
            data::ORGS.len()
        ));
        self.say(format!(
            "✓ {} accounts: 2 publishers (发榜方), 6 team leads (揭榜方), {} experts \
             ({created_users} created now)",
            self.people.len(),
            self.experts.len()
        ));
        let conflicted: Vec<String> = self
            .experts
            .iter()
            .filter(|e| {
                let key = org_key(&self.orgs, &e.person.org);
                data::PUBLISHERS
                    .iter()
                    .chain(data::TEAMS.iter().map(|t| &t.lead))
                    .any(|p| p.org == key)
            })
            .map(|e| format!("{} ({})", e.person.display_name, e.person.org_name))
            .collect();
        self.say(format!(
            "  experts who work where a team or a publisher works: {}",
            conflicted.join(", ")
        ));
        Ok(())
    }

    // ---------------------------------------------------------------- stage 2

    pub async fn challenges(&mut self) -> Result<()> {
        for which in [Which::Porcelain, Which::Compressor] {
            let publisher = self.person(which.publisher().username).clone();
            let mut theirs = self.s.as_(&publisher).await?.challenges;
            let draft = theirs
                .create_challenge(pb::CreateChallengeRequest {
                    challenge: Some(data::challenge(which, &self.round)),
                    request_id: crate::commands::request_id(),
                })
                .await
                .step(&self.s, "draft the challenge")?
                .challenge
                .context("no challenge returned")?;
            theirs
                .submit_challenge(pb::SubmitChallengeRequest {
                    name: draft.name.clone(),
                    ..Default::default()
                })
                .await
                .step(&self.s, "submit the challenge for approval")?;
            self.s
                .as_(&self.admin)
                .await?
                .challenges
                .approve_challenge(pb::ApproveChallengeRequest {
                    name: draft.name.clone(),
                    ..Default::default()
                })
                .await
                .step(&self.s, "approve the challenge")?;
            let close = self.now().await?;
            let close = prost_types::Timestamp {
                seconds: close.seconds + i64::try_from(30 * DAY).unwrap_or(0),
                nanos: 0,
            };
            let published = theirs
                .publish_challenge(pb::PublishChallengeRequest {
                    name: draft.name.clone(),
                    application_close_time: Some(close),
                    ..Default::default()
                })
                .await
                .step(&self.s, "publish the challenge")?
                .challenge
                .context("no challenge returned")?;
            let race = if published.winners_count > 1 {
                format!(", {} winners race (赛马制)", published.winners_count)
            } else {
                ", one winner".into()
            };
            self.say(format!(
                "✓ {} publishes 「{}」: {} funding{race}; applications close {}",
                publisher.org_name,
                published.title,
                crate::views::yuan(published.government_funding_fen + published.co_funding_fen),
                date(published.application_close_time.as_ref()),
            ));
            self.challenges.push(ChallengeRun {
                which,
                name: published.name,
                title: published.title,
                chair: None,
            });
        }
        Ok(())
    }

    // ---------------------------------------------------------------- stage 3

    pub async fn applications(&mut self) -> Result<()> {
        for spec in data::TEAMS {
            let lead = self.person(spec.lead.username).clone();
            let challenge = self.challenge(spec.which).name.clone();
            let mut theirs = self.s.as_(&lead).await?.applications;
            let draft = theirs
                .create_application(pb::CreateApplicationRequest {
                    parent: challenge,
                    application: Some(data::application(spec, &lead.user, &lead.org)),
                    request_id: crate::commands::request_id(),
                })
                .await
                .step(&self.s, &format!("{} drafts an application", lead.org_name))?
                .application
                .context("no application returned")?;
            let pledge = pb::ResponsibilityPledge {
                signer: lead.user.clone(),
                sign_time: Some(self.now().await?),
                text: data::PLEDGE.into(),
                ..Default::default()
            };
            let submitted = theirs
                .submit_application(pb::SubmitApplicationRequest {
                    name: draft.name.clone(),
                    pledge: Some(pledge),
                    request_id: crate::commands::request_id(),
                    ..Default::default()
                })
                .await;
            let outcome = match (spec.fate, submitted) {
                (Fate::Ineligible, Err(status))
                    if status.code() == tonic::Code::FailedPrecondition =>
                {
                    let rules: Vec<String> = status
                        .get_details_precondition_failure()
                        .map(|p| {
                            p.violations
                                .into_iter()
                                .map(|v| {
                                    let rule = v.r#type.trim_start_matches("ELIGIBILITY_RULE_");
                                    format!("{rule} — {}", v.description)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    self.say(format!(
                        "✗ {} ({}) is refused at submission: {}",
                        lead.org_name,
                        lead.display_name,
                        rules.join("; ")
                    ));
                    "refused: not eligible".to_owned()
                }
                (Fate::Ineligible, other) => {
                    bail!("an institute's application should have been refused, got {other:?}")
                }
                (_, Err(status)) => return Err(self.s.failed("submit the application", &status)),
                (Fate::Withdraws, Ok(_)) => {
                    theirs
                        .withdraw_application(pb::WithdrawApplicationRequest {
                            name: draft.name.clone(),
                            reason: "团队核心成员调整，本轮不再参与。".into(),
                            request_id: crate::commands::request_id(),
                            ..Default::default()
                        })
                        .await
                        .step(&self.s, "withdraw the application")?;
                    self.say(format!(
                        "↩ {} submits 「{}」, then withdraws it before the deadline",
                        lead.org_name, spec.title
                    ));
                    "withdrawn".to_owned()
                }
                (Fate::Reviewed, Ok(_)) => {
                    self.say(format!(
                        "✓ {} ({}) submits 「{}」 with the pledge signed",
                        lead.org_name, lead.display_name, spec.title
                    ));
                    "submitted".to_owned()
                }
            };
            self.teams.push(TeamRun {
                spec,
                lead,
                application: draft.name,
                final_score: String::new(),
                outcome,
                project: String::new(),
                paid_fen: 0,
            });
        }
        Ok(())
    }

    // ---------------------------------------------------------------- stage 4

    pub async fn deadline(&mut self) -> Result<()> {
        self.advance(31, "past both application deadlines").await?;
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
                "✓ 「{}」 is now {}",
                run.title,
                crate::views::challenge_state(state)
            ));
        }
        let mut checked = 0;
        for team in self.teams.iter().filter(|t| t.outcome == "submitted") {
            admin
                .applications
                .clone()
                .record_formal_check(pb::RecordFormalCheckRequest {
                    name: team.application.clone(),
                    outcome: pb::FormalCheckOutcome::Eligible as i32,
                    ..Default::default()
                })
                .await
                .step(&self.s, "record the formal check")?;
            checked += 1;
        }
        self.say(format!(
            "✓ the bureau finds all {checked} submitted applications complete and eligible"
        ));
        Ok(())
    }
}

/// `organizations/{id}` → the demo's key for it.
fn org_key(orgs: &HashMap<&'static str, (String, String)>, name: &str) -> &'static str {
    orgs.iter()
        .find(|(_, (n, _))| n == name)
        .map_or("", |(k, _)| k)
}

pub(super) fn date(t: Option<&prost_types::Timestamp>) -> String {
    crate::views::time(t).get(..10).unwrap_or("").to_owned()
}

/// `"0.05"` → `5.0%`.
pub(super) fn percent(fraction: &str) -> String {
    fraction
        .parse::<f64>()
        .map(|f| format!("{:.1}%", f * 100.0))
        .unwrap_or_else(|_| fraction.to_owned())
}
