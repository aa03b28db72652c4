//! Protobuf ↔ domain for organisations and users.

use jiebang_domain::identity::{Organization, OrganizationType, Role, User};
use jiebang_domain::ids::Collection;
use jiebang_grpc::convert::to_proto_time;
use jiebang_proto::v1 as pb;

pub fn org_type_from_proto(value: i32) -> Option<OrganizationType> {
    match pb::OrganizationType::try_from(value).ok()? {
        pb::OrganizationType::Enterprise => Some(OrganizationType::Enterprise),
        pb::OrganizationType::University => Some(OrganizationType::University),
        pb::OrganizationType::Institute => Some(OrganizationType::Institute),
        pb::OrganizationType::Government => Some(OrganizationType::Government),
        pb::OrganizationType::IndustryBody => Some(OrganizationType::IndustryBody),
        pb::OrganizationType::Unspecified => None,
    }
}

pub fn org_type_to_proto(t: OrganizationType) -> pb::OrganizationType {
    match t {
        OrganizationType::Enterprise => pb::OrganizationType::Enterprise,
        OrganizationType::University => pb::OrganizationType::University,
        OrganizationType::Institute => pb::OrganizationType::Institute,
        OrganizationType::Government => pb::OrganizationType::Government,
        OrganizationType::IndustryBody => pb::OrganizationType::IndustryBody,
    }
}

pub fn role_from_proto(value: i32) -> Option<Role> {
    match pb::Role::try_from(value).ok()? {
        pb::Role::Admin => Some(Role::Admin),
        pb::Role::Publisher => Some(Role::Publisher),
        pb::Role::TeamMember => Some(Role::TeamMember),
        pb::Role::Expert => Some(Role::Expert),
        pb::Role::Unspecified => None,
    }
}

pub fn role_to_proto(role: Role) -> pb::Role {
    match role {
        Role::Admin => pb::Role::Admin,
        Role::Publisher => pb::Role::Publisher,
        Role::TeamMember => pb::Role::TeamMember,
        Role::Expert => pb::Role::Expert,
    }
}

pub fn organization_to_proto(org: &Organization) -> pb::Organization {
    pb::Organization {
        name: Collection::Organizations.name(&org.id),
        display_name: org.display_name.clone(),
        r#type: org_type_to_proto(org.org_type) as i32,
        region: org.region.clone(),
        unified_social_credit_code: org.unified_social_credit_code.clone(),
        create_time: Some(to_proto_time(org.created_at)),
        update_time: Some(to_proto_time(org.updated_at)),
        etag: org.version.to_string(),
    }
}

pub fn user_to_proto(user: &User) -> pb::User {
    pb::User {
        name: Collection::Users.name(&user.id),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: role_to_proto(user.role) as i32,
        organization: Collection::Organizations.name(&user.organization_id),
        email: user.email.clone(),
        phone: user.phone.clone(),
        create_time: Some(to_proto_time(user.created_at)),
    }
}
