//! Writes queued in a transaction go to the database together, and stay all-or-nothing: a
//! queued write that finds its row changed, or that a unique key refuses, takes the whole
//! transaction with it.

use crate::on_both_backends;
use crate::support::TestApp;
use jiebang_storage::{Expect, Store, StoreError, StoreOptions, Tx};
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

/// Queues the insert of probe row `id` at version `n`.
fn queue_insert(tx: &mut Tx, id: &str, n: i64) {
    tx.queue(
        "INSERT INTO batch_probe (id, n) VALUES ($1, $2)",
        Expect::Any,
    )
    .bind(id)
    .bind(n);
}

/// Queues noting probe row `id` as kept, guarded by its version being `n`.
fn queue_keep_if_at(tx: &mut Tx, id: &str, n: i64) {
    tx.queue(
        "UPDATE batch_probe SET note = $1 WHERE id = $2 AND n = $3",
        Expect::OneRow,
    )
    .bind("kept")
    .bind(id)
    .bind(n);
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
    queue_insert(&mut tx, "kept-out", 1);
    // Another writer already moved the row on: version 99 is not the one it has.
    queue_keep_if_at(&mut tx, "kept-out", 99);
    let refused = tx.commit().await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(probe_rows(&store).await, vec![]);
    store.close().await;
}

async fn a_unique_key_refusing_one_queued_write_undoes_the_others(app: &TestApp) {
    let store = store_with_probe_table(app).await;
    let mut tx = store.begin().await.unwrap();
    queue_insert(&mut tx, "first", 1);
    queue_insert(&mut tx, "first", 2);
    let refused = tx.commit().await;
    assert!(
        matches!(&refused, Err(StoreError::UniqueViolation { .. })),
        "{refused:?}"
    );
    assert_eq!(probe_rows(&store).await, vec![]);
    store.close().await;
}

/// Many writers at once (on SQLite they commit in groups): each one's rows are kept exactly
/// when its commit succeeded — not when it gave up, was refused by a unique key, or failed a
/// check — whatever the others did; and nobody waits forever, even when some callers are
/// cancelled mid-way.
async fn concurrent_writers_keep_exactly_what_they_committed(app: &TestApp) {
    let store = store_with_probe_table(app).await;
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..80_i64 {
        let store = store.clone();
        writers.spawn(async move {
            let id = format!("w{i:02}");
            let write = async {
                let mut tx = store.begin().await?;
                sqlx::query("INSERT INTO batch_probe (id, n) VALUES ($1, $2)")
                    .bind(&id)
                    .bind(i)
                    .execute(tx.conn())
                    .await?;
                match i % 10 {
                    // Gives up: dropped without committing.
                    0 => return Ok(false),
                    // Its last write is refused by the primary key.
                    1 => queue_insert(&mut tx, &id, i),
                    // Its last write finds the row moved on.
                    2 if i % 20 == 2 => queue_keep_if_at(&mut tx, &id, -1),
                    _ => queue_keep_if_at(&mut tx, &id, i),
                }
                tx.commit().await.map(|()| true)
            };
            // Every seventh caller is cancelled wherever it happens to be after 1 ms.
            let outcome = if i % 7 == 3 {
                tokio::time::timeout(std::time::Duration::from_millis(1), write)
                    .await
                    .ok()
            } else {
                Some(write.await)
            };
            (id, outcome)
        });
    }
    let mut expected = Vec::new();
    let mut cancelled = Vec::new();
    let joined = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(joined) = writers.join_next().await {
            let (id, outcome) = joined.unwrap();
            match outcome {
                Some(Ok(true)) => expected.push(id),
                Some(Ok(false)) => {}
                Some(Err(StoreError::UniqueViolation { .. } | StoreError::Conflict)) => {}
                Some(Err(other)) => panic!("{id}: {other:?}"),
                None => cancelled.push(id),
            }
        }
    })
    .await;
    assert!(joined.is_ok(), "writers were left waiting");
    let kept: Vec<String> = probe_rows(&store)
        .await
        .into_iter()
        .filter(|(id, _, _)| !cancelled.contains(id))
        .map(|(id, _, note)| {
            assert_eq!(note.as_deref(), Some("kept"), "{id} was kept half-written");
            id
        })
        .collect();
    expected.sort();
    assert_eq!(kept, expected);
    // Only writers of the last kind commit (on SQLite, a lost race rolls back the group it
    // was in, and its other members report a conflict to retry).
    assert!(!expected.is_empty());
    assert!(expected.iter().all(|id| {
        let i = id[1..].parse::<i64>().unwrap();
        i % 10 >= 2 && i % 20 != 2
    }));
    store.close().await;
}

on_both_backends!(
    concurrent_writers_keep_exactly_what_they_committed,
    queued_writes_land_with_their_own_arguments,
    a_queued_update_that_finds_its_row_changed_undoes_the_transaction,
    a_unique_key_refusing_one_queued_write_undoes_the_others,
);
