//! What the CLI prints: each resource as a serde view (the `--output json` form) and as a
//! table for people. Enum values print as their short names (`PUBLISHED`), times as RFC 3339,
//! money as yuan with the exact fen.

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use jiebang_proto::v1 as pb;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

pub fn time(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| {
        time::OffsetDateTime::from_unix_timestamp(t.seconds)
            .ok()
            .map(|d| d + time::Duration::nanoseconds(i64::from(t.nanos)))
    })
    .and_then(|d| {
        d.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_default()
}

/// `12345678` fen → `123,456.78 元`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    let whole = (fen / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02} 元", fen % 100)
}

/// The short name of an enum value: `CHALLENGE_STATE_PUBLISHED` → `PUBLISHED`.
fn short(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_owned()
}

pub fn challenge_state(value: i32) -> String {
    pb::ChallengeState::try_from(value)
        .map(|s| short(s.as_str_name(), "CHALLENGE_STATE_"))
        .unwrap_or_else(|_| value.to_string())
}

fn enum_name<E: TryFrom<i32>>(
    value: i32,
    name: impl Fn(&E) -> &'static str,
    prefix: &str,
) -> String {
    E::try_from(value)
        .map(|e| short(name(&e), prefix))
        .unwrap_or_else(|_| value.to_string())
}

#[derive(Serialize)]
pub struct ChallengeView {
    pub name: String,
    pub title: String,
    pub state: String,
    pub publisher: String,
    pub industry_field: String,
    pub round: String,
    pub government_funding_fen: i64,
    pub co_funding_fen: i64,
    pub duration_months: i32,
    pub winners_count: i32,
    pub blind_review: bool,
    pub application_open_time: String,
    pub application_close_time: String,
    pub rejection_reason: String,
    pub cancellation_reason: String,
    pub cancellation_note: String,
    pub problem: String,
    pub goals: String,
    pub end_user: String,
    pub indicators: Vec<IndicatorView>,
    pub criteria: Vec<CriterionView>,
    pub tranches: Vec<TrancheView>,
    pub etag: String,
    pub create_time: String,
    pub update_time: String,
}

#[derive(Serialize)]
pub struct IndicatorView {
    pub name: String,
    pub comparison: String,
    pub target_value: String,
    pub unit: String,
    pub mandatory: bool,
    pub test_method: String,
}

#[derive(Serialize)]
pub struct CriterionView {
    pub name: String,
    pub kind: String,
    pub weight: i32,
}

#[derive(Serialize)]
pub struct TrancheView {
    pub trigger: String,
    pub share_basis_points: i32,
}

impl From<&pb::Challenge> for ChallengeView {
    fn from(c: &pb::Challenge) -> Self {
        Self {
            name: c.name.clone(),
            title: c.title.clone(),
            state: challenge_state(c.state),
            publisher: c.publisher.clone(),
            industry_field: c.industry_field.clone(),
            round: c.round.clone(),
            government_funding_fen: c.government_funding_fen,
            co_funding_fen: c.co_funding_fen,
            duration_months: c.duration_months,
            winners_count: c.winners_count,
            blind_review: c.blind_review,
            application_open_time: time(c.application_open_time.as_ref()),
            application_close_time: time(c.application_close_time.as_ref()),
            rejection_reason: c.rejection_reason.clone(),
            cancellation_reason: if c.cancellation_reason == 0 {
                String::new()
            } else {
                enum_name(
                    c.cancellation_reason,
                    pb::CancellationReason::as_str_name,
                    "CANCELLATION_REASON_",
                )
            },
            cancellation_note: c.cancellation_note.clone(),
            problem: c.problem.clone(),
            goals: c.goals.clone(),
            end_user: c.end_user.clone(),
            indicators: c
                .indicators
                .iter()
                .map(|i| IndicatorView {
                    name: i.name.clone(),
                    comparison: match pb::Comparison::try_from(i.comparison) {
                        Ok(pb::Comparison::AtLeast) => "≥".into(),
                        Ok(pb::Comparison::AtMost) => "≤".into(),
                        Ok(pb::Comparison::Equal) => "=".into(),
                        _ => "?".into(),
                    },
                    target_value: i.target_value.clone(),
                    unit: i.unit.clone(),
                    mandatory: i.mandatory,
                    test_method: i.test_method.clone(),
                })
                .collect(),
            criteria: c
                .criteria
                .iter()
                .map(|cr| CriterionView {
                    name: cr.name.clone(),
                    kind: enum_name(cr.kind, pb::CriterionKind::as_str_name, "CRITERION_KIND_"),
                    weight: cr.weight,
                })
                .collect(),
            tranches: c
                .tranches
                .iter()
                .map(|t| TrancheView {
                    trigger: enum_name(
                        t.trigger,
                        pb::TrancheTrigger::as_str_name,
                        "TRANCHE_TRIGGER_",
                    ),
                    share_basis_points: t.share_basis_points,
                })
                .collect(),
            etag: c.etag.clone(),
            create_time: time(c.create_time.as_ref()),
            update_time: time(c.update_time.as_ref()),
        }
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

pub fn challenges_table(challenges: &[pb::Challenge]) -> String {
    let mut t = table(&["name", "title", "state", "field", "funding", "closes"]);
    for c in challenges {
        t.add_row(vec![
            c.name.clone(),
            c.title.clone(),
            challenge_state(c.state),
            c.industry_field.clone(),
            yuan(c.government_funding_fen + c.co_funding_fen),
            time(c.application_close_time.as_ref()),
        ]);
    }
    t.to_string()
}

pub fn challenge_detail(c: &pb::Challenge) -> String {
    let v = ChallengeView::from(c);
    let mut t = table(&["field", "value"]);
    let rows: Vec<(&str, String)> = vec![
        ("name", v.name.clone()),
        ("title", v.title.clone()),
        ("state", v.state.clone()),
        ("publisher", v.publisher.clone()),
        ("industry field", v.industry_field.clone()),
        ("round", v.round.clone()),
        ("government funding", yuan(v.government_funding_fen)),
        ("co-funding", yuan(v.co_funding_fen)),
        ("duration", format!("{} months", v.duration_months)),
        ("winners", v.winners_count.to_string()),
        ("blind review", v.blind_review.to_string()),
        ("applications open", v.application_open_time.clone()),
        ("applications close", v.application_close_time.clone()),
        ("rejection reason", v.rejection_reason.clone()),
        (
            "cancelled because",
            format!("{} {}", v.cancellation_reason, v.cancellation_note)
                .trim()
                .to_owned(),
        ),
        ("problem", v.problem.clone()),
        ("goals", v.goals.clone()),
        ("end user", v.end_user.clone()),
        (
            "indicators",
            v.indicators
                .iter()
                .map(|i| {
                    format!(
                        "{} {} {} {}{}",
                        i.name,
                        i.comparison,
                        i.target_value,
                        i.unit,
                        if i.mandatory { " (mandatory)" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            "criteria",
            v.criteria
                .iter()
                .map(|c| format!("{} — {} points", c.name, c.weight))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            "tranches",
            v.tranches
                .iter()
                .map(|t| format!("{} {}%", t.trigger, f64::from(t.share_basis_points) / 100.0))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("etag", v.etag.clone()),
    ];
    for (field, value) in rows {
        if !value.is_empty() {
            t.add_row(vec![field.to_owned(), value]);
        }
    }
    t.to_string()
}

#[derive(Serialize)]
pub struct OrganizationView {
    pub name: String,
    pub display_name: String,
    pub r#type: String,
    pub region: String,
    pub unified_social_credit_code: String,
    pub create_time: String,
}

impl From<&pb::Organization> for OrganizationView {
    fn from(o: &pb::Organization) -> Self {
        Self {
            name: o.name.clone(),
            display_name: o.display_name.clone(),
            r#type: enum_name(
                o.r#type,
                pb::OrganizationType::as_str_name,
                "ORGANIZATION_TYPE_",
            ),
            region: o.region.clone(),
            unified_social_credit_code: o.unified_social_credit_code.clone(),
            create_time: time(o.create_time.as_ref()),
        }
    }
}

pub fn organizations_table(orgs: &[pb::Organization]) -> String {
    let mut t = table(&["name", "display name", "type", "region", "credit code"]);
    for o in orgs.iter().map(OrganizationView::from) {
        t.add_row(vec![
            o.name,
            o.display_name,
            o.r#type,
            o.region,
            o.unified_social_credit_code,
        ]);
    }
    t.to_string()
}

#[derive(Serialize)]
pub struct UserView {
    pub name: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub organization: String,
    pub email: String,
    pub phone: String,
}

impl From<&pb::User> for UserView {
    fn from(u: &pb::User) -> Self {
        Self {
            name: u.name.clone(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: enum_name(u.role, pb::Role::as_str_name, "ROLE_"),
            organization: u.organization.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
        }
    }
}

pub fn users_table(users: &[pb::User]) -> String {
    let mut t = table(&["name", "username", "display name", "role", "organization"]);
    for u in users.iter().map(UserView::from) {
        t.add_row(vec![
            u.name,
            u.username,
            u.display_name,
            u.role,
            u.organization,
        ]);
    }
    t.to_string()
}

#[derive(Serialize)]
pub struct AuditRecordView {
    pub sequence: i64,
    pub chain: String,
    pub chain_sequence: i64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub hash: String,
}

impl From<&pb::AuditRecord> for AuditRecordView {
    fn from(r: &pb::AuditRecord) -> Self {
        Self {
            sequence: r.sequence,
            chain: r.chain.clone(),
            chain_sequence: r.chain_sequence,
            time: time(r.time.as_ref()),
            actor: r.actor.clone(),
            action: r.action.clone(),
            resource: r.resource.clone(),
            hash: r.hash.clone(),
        }
    }
}

pub fn audit_table(records: &[pb::AuditRecord]) -> String {
    let mut t = table(&["seq", "time", "actor", "action", "resource", "hash"]);
    for r in records.iter().map(AuditRecordView::from) {
        t.add_row(vec![
            r.sequence.to_string(),
            r.time,
            r.actor,
            r.action,
            r.resource,
            r.hash.chars().take(12).collect(),
        ]);
    }
    t.to_string()
}

#[derive(Serialize)]
pub struct EventView {
    pub sequence: i64,
    pub time: String,
    pub r#type: String,
    pub resource: String,
    pub actor: String,
    pub state: String,
    pub summary: String,
}

impl From<&pb::Event> for EventView {
    fn from(e: &pb::Event) -> Self {
        Self {
            sequence: e.sequence,
            time: time(e.time.as_ref()),
            r#type: enum_name(e.r#type, pb::EventType::as_str_name, "EVENT_TYPE_"),
            resource: e.resource.clone(),
            actor: e.actor.clone(),
            state: e.state.clone(),
            summary: e.summary.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_prints_as_yuan_with_exact_fen() {
        assert_eq!(yuan(400_000_000), "4,000,000.00 元");
        assert_eq!(yuan(12_345_678), "123,456.78 元");
        assert_eq!(yuan(5), "0.05 元");
        assert_eq!(yuan(-150), "-1.50 元");
    }
}

pub fn application_state(value: i32) -> String {
    pb::ApplicationState::try_from(value)
        .map(|s| short(s.as_str_name(), "APPLICATION_STATE_"))
        .unwrap_or_else(|_| value.to_string())
}

#[derive(Serialize)]
pub struct ApplicationView {
    pub name: String,
    pub challenge: String,
    pub title: String,
    pub state: String,
    pub lead_organization: String,
    pub partner_organizations: Vec<String>,
    pub lead_person: String,
    pub requested_budget_fen: i64,
    pub signing_share_basis_points: i32,
    pub milestones: Vec<String>,
    pub documents: Vec<String>,
    pub pledge_signer: String,
    pub submit_time: String,
    pub formal_check: String,
    pub ineligibility_reasons: Vec<String>,
    pub withdrawal_reason: String,
    pub etag: String,
}

impl From<&pb::Application> for ApplicationView {
    fn from(a: &pb::Application) -> Self {
        let team = a.team.clone().unwrap_or_default();
        let check = a.formal_check.clone();
        Self {
            name: a.name.clone(),
            challenge: a.challenge.clone(),
            title: a.title.clone(),
            state: application_state(a.state),
            lead_organization: team.lead_organization,
            partner_organizations: team.partner_organizations,
            lead_person: team.lead_person,
            requested_budget_fen: a.requested_budget_fen,
            signing_share_basis_points: a.signing_share_basis_points,
            milestones: a
                .proposed_milestones
                .iter()
                .map(|m| {
                    format!(
                        "{} (month {}, {}%{})",
                        m.title,
                        m.due_after_months,
                        f64::from(m.share_basis_points) / 100.0,
                        if m.mid_term { ", mid-term" } else { "" }
                    )
                })
                .collect(),
            documents: a.documents.clone(),
            pledge_signer: a
                .pledge
                .as_ref()
                .map(|p| p.signer.clone())
                .unwrap_or_default(),
            submit_time: time(a.submit_time.as_ref()),
            formal_check: check
                .as_ref()
                .map(|c| {
                    enum_name(
                        c.outcome,
                        pb::FormalCheckOutcome::as_str_name,
                        "FORMAL_CHECK_OUTCOME_",
                    )
                })
                .unwrap_or_default(),
            ineligibility_reasons: check
                .map(|c| {
                    c.reasons
                        .iter()
                        .map(|r| {
                            format!(
                                "{}: {}",
                                enum_name(
                                    r.rule,
                                    pb::EligibilityRule::as_str_name,
                                    "ELIGIBILITY_RULE_"
                                ),
                                r.detail
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            withdrawal_reason: a.withdrawal_reason.clone(),
            etag: a.etag.clone(),
        }
    }
}

pub fn applications_table(applications: &[pb::Application]) -> String {
    let mut t = table(&[
        "name",
        "title",
        "state",
        "lead organisation",
        "budget",
        "submitted",
    ]);
    for a in applications.iter().map(ApplicationView::from) {
        t.add_row(vec![
            a.name,
            a.title,
            a.state,
            a.lead_organization,
            yuan(a.requested_budget_fen),
            a.submit_time,
        ]);
    }
    t.to_string()
}

pub fn application_detail(a: &pb::Application) -> String {
    let v = ApplicationView::from(a);
    let mut t = table(&["field", "value"]);
    let rows: Vec<(&str, String)> = vec![
        ("name", v.name.clone()),
        ("challenge", v.challenge.clone()),
        ("title", v.title.clone()),
        ("state", v.state.clone()),
        ("lead organisation", v.lead_organization.clone()),
        ("partners", v.partner_organizations.join("\n")),
        ("lead person", v.lead_person.clone()),
        ("requested budget", yuan(v.requested_budget_fen)),
        (
            "on signing",
            format!("{}%", f64::from(v.signing_share_basis_points) / 100.0),
        ),
        ("milestones", v.milestones.join("\n")),
        ("documents", v.documents.join("\n")),
        ("pledge signed by", v.pledge_signer.clone()),
        ("submitted", v.submit_time.clone()),
        ("formal check", v.formal_check.clone()),
        ("ineligible because", v.ineligibility_reasons.join("\n")),
        ("withdrawn because", v.withdrawal_reason.clone()),
        ("etag", v.etag.clone()),
    ];
    for (field, value) in rows {
        if !value.is_empty() {
            t.add_row(vec![field.to_owned(), value]);
        }
    }
    t.to_string()
}

#[derive(Serialize)]
pub struct DocumentView {
    pub name: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub media_type: String,
    pub file_name: String,
    pub purpose: String,
    pub uploader: String,
    pub create_time: String,
}

impl From<&pb::Document> for DocumentView {
    fn from(d: &pb::Document) -> Self {
        Self {
            name: d.name.clone(),
            sha256: d.sha256.clone(),
            size_bytes: d.size_bytes,
            media_type: d.media_type.clone(),
            file_name: d.file_name.clone(),
            purpose: enum_name(
                d.purpose,
                pb::DocumentPurpose::as_str_name,
                "DOCUMENT_PURPOSE_",
            ),
            uploader: d.uploader.clone(),
            create_time: time(d.create_time.as_ref()),
        }
    }
}

pub fn document_detail(d: &pb::Document) -> String {
    let v = DocumentView::from(d);
    let mut t = table(&["field", "value"]);
    for (field, value) in [
        ("name", v.name),
        ("file name", v.file_name),
        ("media type", v.media_type),
        ("size", format!("{} bytes", v.size_bytes)),
        ("purpose", v.purpose),
        ("uploader", v.uploader),
        ("stored", v.create_time),
    ] {
        t.add_row(vec![field.to_owned(), value]);
    }
    t.to_string()
}
