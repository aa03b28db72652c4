//! An application names users, organisations and documents; each must exist, and documents
//! must be ones the caller may attach (uploaded by them, or already attached). Checked on
//! every write, with one field violation per bad reference.

use jiebang_domain::application::ApplicationContent;
use jiebang_domain::identity::Role;
use jiebang_domain::{Caller, Violations};
use jiebang_grpc::ApiError;
use jiebang_storage::{Store, documents, identity};

pub async fn check(
    store: &Store,
    caller: &Caller,
    lead_organization_id: &str,
    content: &ApplicationContent,
    already_attached: &[String],
) -> Result<(), ApiError> {
    let mut v = Violations::new();
    for (i, org) in content.partner_organization_ids.iter().enumerate() {
        if identity::get_organization(store, org).await?.is_none() {
            v.add(
                format!("application.team.partner_organizations[{i}]"),
                format!("organizations/{org} does not exist"),
            );
        }
    }
    match identity::get_user(store, &content.lead_person_id).await? {
        Some(lead)
            if lead.role == Role::TeamMember && lead.organization_id == lead_organization_id => {}
        Some(_) => v.add(
            "application.team.lead_person",
            "must be a team member of the lead organisation",
        ),
        None => v.add("application.team.lead_person", "no such user"),
    }
    for (i, member) in content.members.iter().enumerate() {
        let Some(user_id) = &member.user_id else {
            continue;
        };
        match identity::get_user(store, user_id).await? {
            Some(user) if user.organization_id == member.organization_id => {}
            Some(_) => v.add(
                format!("application.team.members[{i}].organization"),
                "must be the member's own organisation",
            ),
            None => v.add(
                format!("application.team.members[{i}].user"),
                "no such user",
            ),
        }
    }
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(jiebang_storage::StoreError::from)?;
    for (i, sha) in content.documents.iter().enumerate() {
        if already_attached.contains(sha) {
            continue;
        }
        if !documents::uploaded_by(&mut conn, sha, &caller.user_id).await? {
            v.add(
                format!("application.documents[{i}]"),
                format!("documents/{sha} is not a document you uploaded"),
            );
        }
    }
    v.into_result()?;
    Ok(())
}
