//! The application file: how a team writes its application for `jiebang application create`
//! and `update`, in TOML (or JSON, by the `.json` extension). Money in yuan as exact decimals;
//! shares in basis points. Unknown keys are refused.

use crate::challenge_file::yuan_to_fen;
use anyhow::{Context, Result, bail};
use jiebang_proto::v1 as pb;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

pub const TEMPLATE: &str = r#"# An application (揭榜申报). The lead organisation is yours; the lead person defaults to you.
title = "高强度瓷绝缘子配方与梯度烧成工艺"
technical_plan = """
技术路线：高铝瓷配方 + 梯度烧成控制晶相；关键技术：在线窑温监测与闭环控制；
风险与对策：……
"""
requested_budget_yuan = "3500000"
signing_share_basis_points = 5000   # must equal the challenge's on-signing tranche
documents = []                      # e.g. ["documents/<sha256>"] from `jiebang document upload`

[team]
partner_organizations = []          # e.g. ["organizations/<id>"], at most 4
# lead_person = "users/<id>"        # default: you

[[team.members]]                    # default: just you, as the lead
display_name = "李工"
role = "lead"                       # lead | core_member | member
duty = "总体技术负责"
# user = "users/<id>"               # default for the lead: you
# organization = "organizations/<id>" # default: your organisation

[[milestones]]
title = "中期：样品试制与型式试验"
deliverables = ["样品 20 只", "型式试验报告"]
due_after_months = 12
share_basis_points = 3000
mid_term = true
targets = { "机电破坏负荷" = "500" }

[[milestones]]
title = "结题：小批量试产"
deliverables = ["第三方检测报告"]
due_after_months = 24
share_basis_points = 2000
targets = { "机电破坏负荷" = "560" }

[[contacts]]
person = "李工"
phone = "13800000000"
email = ""
"#;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationFile {
    title: Option<String>,
    technical_plan: Option<String>,
    requested_budget_yuan: Option<String>,
    signing_share_basis_points: Option<i32>,
    documents: Option<Vec<String>>,
    team: Option<TeamFile>,
    milestones: Option<Vec<MilestoneFile>>,
    contacts: Option<Vec<ContactFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamFile {
    lead_person: Option<String>,
    #[serde(default)]
    partner_organizations: Vec<String>,
    #[serde(default)]
    members: Vec<MemberFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    user: Option<String>,
    display_name: String,
    organization: Option<String>,
    role: String,
    #[serde(default)]
    duty: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MilestoneFile {
    title: String,
    #[serde(default)]
    deliverables: Vec<String>,
    due_after_months: i32,
    share_basis_points: i32,
    #[serde(default)]
    mid_term: bool,
    #[serde(default)]
    targets: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactFile {
    person: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

/// Who is writing the file: the defaults for the lead person and member organisations.
pub struct Author {
    pub user: String,
    pub display_name: String,
    pub organization: String,
}

pub fn read(path: &Path) -> Result<ApplicationFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid application file", path.display()))
    } else {
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid application file", path.display()))
    }
}

fn role(text: &str) -> Result<i32> {
    Ok(match text {
        "lead" => pb::TeamRole::Lead,
        "core_member" => pb::TeamRole::CoreMember,
        "member" => pb::TeamRole::Member,
        other => bail!("`{other}` is not a team role; use lead, core_member or member"),
    } as i32)
}

impl ApplicationFile {
    /// The top-level application fields this file sets: the update mask of `update`.
    pub fn present_fields(&self) -> Vec<String> {
        [
            ("title", self.title.is_some()),
            ("technical_plan", self.technical_plan.is_some()),
            ("requested_budget_fen", self.requested_budget_yuan.is_some()),
            (
                "signing_share_basis_points",
                self.signing_share_basis_points.is_some(),
            ),
            ("documents", self.documents.is_some()),
            ("team", self.team.is_some()),
            ("proposed_milestones", self.milestones.is_some()),
            ("contacts", self.contacts.is_some()),
        ]
        .iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| (*name).to_owned())
        .collect()
    }

    pub fn to_proto(&self, author: &Author) -> Result<pb::Application> {
        let team = self.team.as_ref();
        let lead_person = team
            .and_then(|t| t.lead_person.clone())
            .unwrap_or_else(|| author.user.clone());
        let mut members: Vec<pb::TeamMember> = team
            .map(|t| &t.members[..])
            .unwrap_or_default()
            .iter()
            .map(|m| -> Result<pb::TeamMember> {
                let role = role(&m.role)?;
                Ok(pb::TeamMember {
                    user: m.user.clone().unwrap_or_else(|| {
                        if role == pb::TeamRole::Lead as i32 {
                            lead_person.clone()
                        } else {
                            String::new()
                        }
                    }),
                    display_name: m.display_name.clone(),
                    organization: m
                        .organization
                        .clone()
                        .unwrap_or_else(|| author.organization.clone()),
                    role,
                    duty: m.duty.clone(),
                })
            })
            .collect::<Result<_>>()?;
        if members.is_empty() {
            members.push(pb::TeamMember {
                user: lead_person.clone(),
                display_name: author.display_name.clone(),
                organization: author.organization.clone(),
                role: pb::TeamRole::Lead as i32,
                duty: String::new(),
            });
        }
        Ok(pb::Application {
            title: self.title.clone().unwrap_or_default(),
            technical_plan: self.technical_plan.clone().unwrap_or_default(),
            requested_budget_fen: self
                .requested_budget_yuan
                .as_deref()
                .map(yuan_to_fen)
                .transpose()
                .context("requested_budget_yuan")?
                .unwrap_or(0),
            signing_share_basis_points: self.signing_share_basis_points.unwrap_or(0),
            documents: self.documents.clone().unwrap_or_default(),
            team: Some(pb::Team {
                lead_organization: String::new(),
                partner_organizations: team
                    .map(|t| t.partner_organizations.clone())
                    .unwrap_or_default(),
                lead_person,
                members,
            }),
            proposed_milestones: self
                .milestones
                .iter()
                .flatten()
                .map(|m| pb::ProposedMilestone {
                    title: m.title.clone(),
                    deliverables: m.deliverables.clone(),
                    due_after_months: m.due_after_months,
                    indicator_targets: m
                        .targets
                        .iter()
                        .map(|(indicator, value)| pb::IndicatorTarget {
                            indicator: indicator.clone(),
                            target_value: value.clone(),
                        })
                        .collect(),
                    share_basis_points: m.share_basis_points,
                    mid_term: m.mid_term,
                })
                .collect(),
            contacts: self
                .contacts
                .iter()
                .flatten()
                .map(|c| pb::Contact {
                    person: c.person.clone(),
                    phone: c.phone.clone(),
                    email: c.email.clone(),
                })
                .collect(),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_makes_a_complete_application_led_by_its_author() {
        let file: ApplicationFile = toml::from_str(TEMPLATE).unwrap();
        let author = Author {
            user: "users/u1".into(),
            display_name: "李工".into(),
            organization: "organizations/o1".into(),
        };
        let a = file.to_proto(&author).unwrap();
        let team = a.team.unwrap();
        assert_eq!(team.lead_person, "users/u1");
        assert_eq!(team.members[0].user, "users/u1");
        assert_eq!(team.members[0].organization, "organizations/o1");
        assert_eq!(a.requested_budget_fen, 350_000_000);
        assert_eq!(
            a.proposed_milestones[1].indicator_targets[0].target_value,
            "560"
        );
        assert_eq!(
            a.signing_share_basis_points
                + a.proposed_milestones
                    .iter()
                    .map(|m| m.share_basis_points)
                    .sum::<i32>(),
            10_000
        );
    }
}
