//! What an application holds (DOMAIN.md, "Applying") and its structural validation. Rules that
//! need the challenge (budget, milestone plan against tranches, consortium size) are
//! eligibility rules, checked at submission ([`super::eligibility`]).

use crate::{DomainError, Violations, decimal};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A consortium is one lead plus at most this many partners, whatever the challenge says.
pub const MAX_PARTNERS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    Lead,
    CoreMember,
    Member,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's platform user id, when they have an account.
    pub user_id: Option<String>,
    pub display_name: String,
    pub organization_id: String,
    pub role: TeamRole,
    pub duty: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorTarget {
    pub indicator: String,
    pub target_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedMilestone {
    pub title: String,
    pub deliverables: Vec<String>,
    pub due_after_months: i32,
    pub indicator_targets: Vec<IndicatorTarget>,
    pub share_basis_points: i32,
    pub mid_term: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub person: String,
    pub phone: String,
    pub email: String,
}

/// Everything the team writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationContent {
    pub title: String,
    pub partner_organization_ids: Vec<String>,
    pub lead_person_id: String,
    pub members: Vec<Member>,
    pub technical_plan: String,
    pub requested_budget_fen: i64,
    pub signing_share_basis_points: i32,
    pub milestones: Vec<ProposedMilestone>,
    pub contacts: Vec<Contact>,
    /// Attached documents by lowercase hex SHA-256.
    pub documents: Vec<String>,
}

impl ApplicationContent {
    /// Platform users of the team named in the content: the lead person and members with
    /// accounts. (The creator is added by the application itself.)
    pub fn team_user_ids(&self) -> Vec<String> {
        let mut ids = vec![self.lead_person_id.clone()];
        for member in &self.members {
            if let Some(id) = &member.user_id
                && !ids.contains(id)
            {
                ids.push(id.clone());
            }
        }
        ids.retain(|id| !id.is_empty());
        ids
    }

    /// Every organisation of the consortium, lead first.
    pub fn organization_ids(&self, lead: &str) -> Vec<String> {
        let mut ids = vec![lead.to_owned()];
        ids.extend(self.partner_organization_ids.iter().cloned());
        ids
    }

    /// Structural rules; paths are relative to the application (`team.members[1].role`).
    pub fn validate(&self, lead_organization_id: &str) -> Result<(), DomainError> {
        let mut v = Violations::new();
        text(&mut v, "title", &self.title, 4, 200);
        text(&mut v, "technical_plan", &self.technical_plan, 1, 50_000);
        v.require(
            self.requested_budget_fen > 0
                && self.requested_budget_fen <= crate::challenge::spec::MAX_FUNDING_FEN,
            "requested_budget_fen",
            "must be positive (in fen)",
        );
        v.require(
            (0..=10_000).contains(&self.signing_share_basis_points),
            "signing_share_basis_points",
            "must be 0–10,000 basis points",
        );
        self.validate_team(&mut v, lead_organization_id);
        self.validate_milestones(&mut v);
        v.require(
            (1..=5).contains(&self.contacts.len()),
            "contacts",
            "must list 1–5 contacts",
        );
        for (i, c) in self.contacts.iter().enumerate() {
            text(&mut v, &format!("contacts[{i}].person"), &c.person, 1, 100);
            v.require(
                !c.phone.is_empty() || !c.email.is_empty(),
                format!("contacts[{i}]"),
                "needs a phone number or an e-mail address",
            );
            crate::identity::check_phone(&mut v, &format!("contacts[{i}].phone"), &c.phone);
            crate::identity::check_email(&mut v, &format!("contacts[{i}].email"), &c.email);
        }
        v.require(
            self.documents.len() <= 50,
            "documents",
            "at most 50 documents",
        );
        let mut seen = HashSet::new();
        for (i, d) in self.documents.iter().enumerate() {
            v.require(
                is_sha256(d),
                format!("documents[{i}]"),
                "must be a document name like documents/{sha256}",
            );
            v.require(
                seen.insert(d),
                format!("documents[{i}]"),
                "is attached twice",
            );
        }
        v.into_result()
    }

    fn validate_team(&self, v: &mut Violations, lead: &str) {
        v.require(
            self.partner_organization_ids.len() <= MAX_PARTNERS,
            "team.partner_organizations",
            "a consortium is one lead plus at most 4 partners",
        );
        let mut orgs = HashSet::from([lead]);
        for (i, p) in self.partner_organization_ids.iter().enumerate() {
            v.require(
                orgs.insert(p.as_str()),
                format!("team.partner_organizations[{i}]"),
                "repeats the lead or another partner",
            );
        }
        v.require(
            !self.lead_person_id.is_empty(),
            "team.lead_person",
            "must be set",
        );
        v.require(
            (1..=50).contains(&self.members.len()),
            "team.members",
            "must list 1–50 members, the lead person included",
        );
        let leads: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.role == TeamRole::Lead)
            .collect();
        v.require(
            leads.len() == 1 && leads[0].user_id.as_deref() == Some(self.lead_person_id.as_str()),
            "team.members",
            "exactly one member has the LEAD role, and it is the lead person",
        );
        let mut users = HashSet::new();
        for (i, m) in self.members.iter().enumerate() {
            text(
                v,
                &format!("team.members[{i}].display_name"),
                &m.display_name,
                1,
                100,
            );
            v.require(
                orgs.contains(m.organization_id.as_str()),
                format!("team.members[{i}].organization"),
                "must be the lead or a partner organisation",
            );
            v.require(
                m.duty.chars().count() <= 500,
                format!("team.members[{i}].duty"),
                "at most 500 characters",
            );
            if let Some(user) = &m.user_id {
                v.require(
                    users.insert(user.as_str()),
                    format!("team.members[{i}].user"),
                    "is listed twice",
                );
            }
        }
    }

    fn validate_milestones(&self, v: &mut Violations) {
        v.require(
            (1..=20).contains(&self.milestones.len()),
            "proposed_milestones",
            "must list 1–20 milestones",
        );
        let mut previous_due = 0;
        for (i, m) in self.milestones.iter().enumerate() {
            let at = |f: &str| format!("proposed_milestones[{i}].{f}");
            text(v, &at("title"), &m.title, 1, 200);
            v.require(
                m.due_after_months > previous_due,
                at("due_after_months"),
                "must be at least 1 and later than the previous milestone's",
            );
            previous_due = m.due_after_months;
            v.require(
                (0..=10_000).contains(&m.share_basis_points),
                at("share_basis_points"),
                "must be 0–10,000 basis points",
            );
            let mut names = HashSet::new();
            for (j, t) in m.indicator_targets.iter().enumerate() {
                v.require(
                    names.insert(t.indicator.as_str()),
                    format!("proposed_milestones[{i}].indicator_targets[{j}].indicator"),
                    "is targeted twice in this milestone",
                );
                v.require(
                    decimal::parse_exact(&t.target_value).is_some(),
                    format!("proposed_milestones[{i}].indicator_targets[{j}].target_value"),
                    "must be an exact decimal like 800 or 99.5",
                );
            }
        }
        v.require(
            self.milestones.iter().filter(|m| m.mid_term).count() <= 1,
            "proposed_milestones",
            "at most one milestone is the mid-term one",
        );
    }
}

pub fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn text(v: &mut Violations, field: &str, value: &str, min: usize, max: usize) {
    let chars = value.chars().count();
    if min > 0 && value.trim().is_empty() {
        v.add(field, "must not be empty");
    } else {
        v.require(
            (min..=max).contains(&chars),
            field,
            format!("must be {min}–{max} characters"),
        );
    }
}
