//! Rows of organisations and users.

use crate::{Store, StoreError, Tx};
use jiebang_domain::Timestamp;
use jiebang_domain::identity::{Organization, OrganizationType, Role, User};
use sqlx::Row;
use sqlx::any::AnyRow;

const ORG_COLUMNS: &str = "id, display_name, org_type, region, unified_social_credit_code, created_at, updated_at, version";

fn org_from_row(row: &AnyRow) -> Result<Organization, StoreError> {
    let org_type: String = row.try_get(2)?;
    Ok(Organization {
        id: row.try_get(0)?,
        display_name: row.try_get(1)?,
        org_type: OrganizationType::parse(&org_type)
            .ok_or_else(|| StoreError::Corrupt(format!("organisation type {org_type}")))?,
        region: row.try_get(3)?,
        unified_social_credit_code: row.try_get(4)?,
        created_at: Timestamp(row.try_get(5)?),
        updated_at: Timestamp(row.try_get(6)?),
        version: row.try_get(7)?,
    })
}

pub async fn insert_organization(tx: &mut Tx, org: &Organization) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO organizations (id, display_name, org_type, region, \
         unified_social_credit_code, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&org.id)
    .bind(&org.display_name)
    .bind(org.org_type.as_str())
    .bind(&org.region)
    .bind(&org.unified_social_credit_code)
    .bind(org.created_at.micros())
    .bind(org.updated_at.micros())
    .bind(org.version)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Saves a changed organisation if it is still at `expected_version`; otherwise
/// [`StoreError::Conflict`].
pub async fn update_organization(
    tx: &mut Tx,
    org: &Organization,
    expected_version: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE organizations SET display_name = $1, region = $2, updated_at = $3, version = $4 \
         WHERE id = $5 AND version = $6",
    )
    .bind(&org.display_name)
    .bind(&org.region)
    .bind(org.updated_at.micros())
    .bind(org.version)
    .bind(&org.id)
    .bind(expected_version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub async fn get_organization(store: &Store, id: &str) -> Result<Option<Organization>, StoreError> {
    let mut conn = store.pool().acquire().await?;
    get_organization_in(&mut conn, id).await
}

/// Reads an organisation on a given connection — inside a transaction, use this rather than
/// the pool: a transaction that waits for a second pooled connection can starve the pool.
pub async fn get_organization_in(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<Option<Organization>, StoreError> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(org_from_row).transpose()
}

/// Newest first; `before_id` is the keyset cursor.
pub async fn list_organizations(
    store: &Store,
    org_type: Option<OrganizationType>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Organization>, StoreError> {
    let sql = format!(
        "SELECT {ORG_COLUMNS} FROM organizations \
         WHERE ($1 IS NULL OR org_type = $1) AND ($2 IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org_type.map(|t| t.as_str().to_owned()))
        .bind(before_id.map(str::to_owned))
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(org_from_row).collect()
}

const USER_COLUMNS: &str =
    "id, username, display_name, role, organization_id, email, phone, created_at";

fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    let role: String = row.try_get(3)?;
    Ok(User {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        display_name: row.try_get(2)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        organization_id: row.try_get(4)?,
        email: row.try_get(5)?,
        phone: row.try_get(6)?,
        created_at: Timestamp(row.try_get(7)?),
    })
}

pub async fn insert_user(tx: &mut Tx, user: &User, password_hash: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, organization_id, email, phone, \
         password_hash, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1)",
    )
    .bind(&user.id)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(user.role.as_str())
    .bind(&user.organization_id)
    .bind(&user.email)
    .bind(&user.phone)
    .bind(password_hash)
    .bind(user.created_at.micros())
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn get_user(store: &Store, id: &str) -> Result<Option<User>, StoreError> {
    let mut conn = store.pool().acquire().await?;
    get_user_in(&mut conn, id).await
}

/// Reads a user on a given connection (inside a transaction; see `get_organization_in`).
pub async fn get_user_in(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The longest-standing user of `organization_id` with `role`, on a given connection.
pub async fn first_user_in(
    conn: &mut sqlx::AnyConnection,
    organization_id: &str,
    role: Role,
) -> Result<Option<User>, StoreError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE organization_id = $1 AND role = $2 \
         ORDER BY created_at, id LIMIT 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(organization_id)
        .bind(role.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The user and their password hash, for login.
#[tracing::instrument(name = "db users.credentials", skip_all, level = "info")]
pub async fn get_credentials(
    store: &Store,
    username: &str,
) -> Result<Option<(User, String)>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(username)
        .fetch_optional(store.pool())
        .await?;
    match row {
        Some(row) => Ok(Some((user_from_row(&row)?, row.try_get(8)?))),
        None => Ok(None),
    }
}

/// The password hash of a user by id, for changing it.
pub async fn get_password_hash(store: &Store, user_id: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(store.pool())
        .await?;
    row.map(|r| r.try_get::<String, _>(0))
        .transpose()
        .map_err(Into::into)
}

/// Replaces the hash only if it is still `expected_hash`: two concurrent changes cannot both
/// succeed on the strength of the same old password.
pub async fn set_password_hash(
    tx: &mut Tx,
    user_id: &str,
    expected_hash: &str,
    new_hash: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2, version = version + 1 \
         WHERE id = $3 AND password_hash = $4",
    )
    .bind(new_hash)
    .bind(now.micros())
    .bind(user_id)
    .bind(expected_hash)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub async fn list_users(
    store: &Store,
    organization_id: Option<&str>,
    role: Option<Role>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users \
         WHERE ($1 IS NULL OR organization_id = $1) AND ($2 IS NULL OR role = $2) \
         AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(organization_id.map(str::to_owned))
        .bind(role.map(|r| r.as_str().to_owned()))
        .bind(before_id.map(str::to_owned))
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn count_users(store: &Store) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(store.pool())
        .await?;
    Ok(row.try_get::<i64, _>(0)?)
}
