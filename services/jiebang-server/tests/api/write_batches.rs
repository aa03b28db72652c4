//! Writes queued in a transaction go to the database together, and stay all-or-nothing: a
//! queued write that finds its row changed, or that a unique key refuses, takes the whole
//! transaction with it.

use crate::on_both_backends;
use crate::support::TestApp;
use jiebang_storage::{Expect, Store, StoreError, StoreOptions};
use sqlx::Row;

async fn store_with_probe_table(app: &TestApp) -> Store {
    let store = Store::open(&StoreOptions::new(app.db.url.clone()))
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS batch_probe \
         (id TEXT PRIMARY KEY, n BIGINT NOT NULL, note TEXT)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store
}

async fn probe_rows(store: &Store) -> Vec<(String, i64, Option<String>)> {
    sqlx::query("SELECT id, n, note FROM batch_probe ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn queued_writes_land_with_their_own_arguments(app: &TestApp) {
    let store = store_with_probe_table(app).await;
    let mut tx = store.begin().await.unwrap();
    tx.queue(
        "INSERT INTO batch_probe (id, n, note) VALUES ($1, $2, $3)",
        Expect::Any,
    )
    .bind("a")
    .bind(1_i64)
    .bind(Option::<String>::None);
    // Parameters out of textual order, as several of the platform's statements have them.
    tx.queue(
        "UPDATE batch_probe SET note = $2, n = $3 WHERE id = $1 AND n = $4",
        Expect::OneRow,
    )
    .bind("a")
    .bind("moved")
    .bind(2_i64)
    .bind(1_i64);
    tx.queue(
        "INSERT INTO batch_probe (id, n, note) VALUES ($1, $2, $3)",
        Expect::Any,
    )
    .bind("b")
    .bind(7_i64)
    .bind(Some("second"));
    tx.commit().await.unwrap();
    assert_eq!(
        probe_rows(&store).await,
        vec![
            ("a".into(), 2, Some("moved".into())),
            ("b".into(), 7, Some("second".into())),
        ]
    );
    store.close().await;
}

async fn a_queued_update_that_finds_its_row_changed_undoes_the_transaction(app: &TestApp) {
    let store = store_with_probe_table(app).await;
    let mut tx = store.begin().await.unwrap();
    tx.queue(
        "INSERT INTO batch_probe (id, n) VALUES ($1, $2)",
        Expect::Any,
    )
    .bind("kept-out")
    .bind(1_i64);
    // Another writer already moved the row on: version 1 is gone.
    tx.queue(
        "UPDATE batch_probe SET n = $1 WHERE id = $2 AND n = $3",
        Expect::OneRow,
    )
    .bind(2_i64)
    .bind("kept-out")
    .bind(99_i64);
    let refused = tx.commit().await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(probe_rows(&store).await, vec![]);
    store.close().await;
}

async fn a_unique_key_refusing_one_queued_write_undoes_the_others(app: &TestApp) {
    let store = store_with_probe_table(app).await;
    let mut tx = store.begin().await.unwrap();
    tx.queue(
        "INSERT INTO batch_probe (id, n) VALUES ($1, $2)",
        Expect::Any,
    )
    .bind("first")
    .bind(1_i64);
    tx.queue(
        "INSERT INTO batch_probe (id, n) VALUES ($1, $2)",
        Expect::Any,
    )
    .bind("first")
    .bind(2_i64);
    let refused = tx.commit().await;
    assert!(
        matches!(&refused, Err(StoreError::UniqueViolation { .. })),
        "{refused:?}"
    );
    assert_eq!(probe_rows(&store).await, vec![]);
    store.close().await;
}

on_both_backends!(
    queued_writes_land_with_their_own_arguments,
    a_queued_update_that_finds_its_row_changed_undoes_the_transaction,
    a_unique_key_refusing_one_queued_write_undoes_the_others,
);
