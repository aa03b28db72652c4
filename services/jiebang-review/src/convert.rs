//! Protobuf ↔ domain for experts and assignments.

use jiebang_domain::ids::Collection;
use jiebang_domain::review::pool::{Availability, Expert};
use jiebang_grpc::convert::to_proto_time;
use jiebang_proto::v1 as pb;
use jiebang_storage::review::{AssignmentRow, ConflictRow, Constraint};

pub fn availability_to_proto(a: Availability) -> pb::ExpertAvailability {
    match a {
        Availability::Available => pb::ExpertAvailability::Available,
        Availability::Unavailable => pb::ExpertAvailability::Unavailable,
        Availability::Retired => pb::ExpertAvailability::Retired,
    }
}

pub fn availability_from_proto(value: i32) -> Option<Availability> {
    match pb::ExpertAvailability::try_from(value).ok()? {
        pb::ExpertAvailability::Available => Some(Availability::Available),
        pb::ExpertAvailability::Unavailable => Some(Availability::Unavailable),
        pb::ExpertAvailability::Retired => Some(Availability::Retired),
        pb::ExpertAvailability::Unspecified => None,
    }
}

pub fn expert_to_proto(e: &Expert, current_load: i64) -> pb::Expert {
    pb::Expert {
        name: e.name(),
        user: Collection::Users.name(&e.user_id),
        display_name: e.display_name.clone(),
        fields_of_expertise: e.fields.clone(),
        keywords: e.keywords.clone(),
        affiliation: Collection::Organizations.name(&e.affiliation_id),
        declared_conflicts: e
            .declared
            .iter()
            .map(|d| pb::ExpertConflict {
                r#type: pb::ConflictType::from_str_name(&format!("CONFLICT_TYPE_{}", d.kind))
                    .map_or(0, |t| t as i32),
                counterpart: if let Some(id) = d.counterpart.strip_prefix("organization:") {
                    Some(pb::expert_conflict::Counterpart::Organization(
                        Collection::Organizations.name(id),
                    ))
                } else if let Some(id) = d.counterpart.strip_prefix("user:") {
                    Some(pb::expert_conflict::Counterpart::User(
                        Collection::Users.name(id),
                    ))
                } else {
                    d.counterpart
                        .strip_prefix("person:")
                        .map(|n| pb::expert_conflict::Counterpart::PersonName(n.to_owned()))
                },
                note: d.note.clone(),
                declare_time: Some(to_proto_time(d.declared_at)),
            })
            .collect(),
        max_load: e.max_load,
        availability: availability_to_proto(e.availability) as i32,
        unavailable_until: e.unavailable_until.map(to_proto_time),
        current_load: i32::try_from(current_load).unwrap_or(i32::MAX),
        create_time: Some(to_proto_time(e.created_at)),
        update_time: Some(to_proto_time(e.updated_at)),
        etag: e.version.to_string(),
    }
}

pub fn application_name(challenge_id: &str, application_id: &str) -> String {
    format!("challenges/{challenge_id}/applications/{application_id}")
}

pub fn assignment_name(a: &AssignmentRow) -> String {
    format!(
        "{}/assignments/{}",
        application_name(&a.challenge_id, &a.application_id),
        a.id
    )
}

pub fn assignment_to_proto(a: &AssignmentRow) -> pb::Assignment {
    pb::Assignment {
        name: assignment_name(a),
        application: application_name(&a.challenge_id, &a.application_id),
        expert: format!("experts/{}", a.expert_id),
        state: pb::AssignmentState::from_str_name(&format!("ASSIGNMENT_STATE_{}", a.state))
            .map_or(0, |s| s as i32),
        origin: pb::AssignmentOrigin::from_str_name(&format!("ASSIGNMENT_ORIGIN_{}", a.origin))
            .map_or(0, |o| o as i32),
        affinity: a.affinity,
        replaces: a.replaces.clone().unwrap_or_default(),
        withdrawal_conflict: None,
        current_score_sheet: String::new(),
        create_time: Some(to_proto_time(a.created_at)),
        open_time: a.opened_at.map(to_proto_time),
        withdraw_time: a.withdrawn_at.map(to_proto_time),
    }
}

pub fn constraint_to_proto(c: &Constraint) -> pb::AssignmentConstraint {
    pb::AssignmentConstraint {
        application: application_name(&c.challenge_id, &c.application_id),
        expert: format!("experts/{}", c.expert_id),
        kind: pb::AssignmentConstraintKind::from_str_name(&format!(
            "ASSIGNMENT_CONSTRAINT_KIND_{}",
            c.kind
        ))
        .map_or(0, |k| k as i32),
        reason: c.reason.clone(),
        author: Collection::Users.name(&c.author_id),
        create_time: Some(to_proto_time(c.created_at)),
    }
}

pub fn conflict_to_proto(c: &ConflictRow) -> pb::ConflictRecord {
    pb::ConflictRecord {
        expert: format!("experts/{}", c.expert_id),
        application: application_name(&c.challenge_id, &c.application_id),
        r#type: pb::ConflictType::from_str_name(&format!("CONFLICT_TYPE_{}", c.kind))
            .map_or(0, |t| t as i32),
        source: pb::ConflictSource::from_str_name(&format!("CONFLICT_SOURCE_{}", c.source))
            .map_or(0, |s| s as i32),
        detail: c.detail.clone(),
        record_time: Some(to_proto_time(c.recorded_at)),
    }
}

pub fn application_state(state: jiebang_domain::application::ApplicationState) -> i32 {
    pb::ApplicationState::from_str_name(&format!("APPLICATION_STATE_{}", state.as_str()))
        .map_or(0, |s| s as i32)
}

pub fn aggregation_to_proto(
    method: jiebang_domain::challenge::AggregationMethod,
) -> pb::AggregationMethod {
    use jiebang_domain::challenge::AggregationMethod::*;
    match method {
        TrimmedMean => pb::AggregationMethod::TrimmedMean,
        Mean => pb::AggregationMethod::Mean,
        Median => pb::AggregationMethod::Median,
    }
}
