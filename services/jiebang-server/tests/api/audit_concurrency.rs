//! The audit chain does not serialise the platform: writes to different resources append to
//! different chains and never wait for each other; writes to one resource take turns.

use crate::support::{Backend, Database};
use jiebang_domain::{Clock, SystemClock};
use jiebang_storage::{Change, NewEvent, Store, StoreError, StoreOptions};
use std::time::Duration;

fn change(chain: &str) -> Change {
    Change {
        at: SystemClock.now(),
        actor: "users/test".into(),
        action: "test.changed",
        resource: chain.into(),
        chain: chain.into(),
        request_digest: "00".repeat(32),
        event: NewEvent {
            event_type: 0,
            resource: chain.into(),
            audience: "public".into(),
            payload: Vec::new(),
        },
        idempotency: None,
    }
}

/// On PostgreSQL: a transaction holding chain X open does not delay a commit on chain Y, and a
/// second writer on chain X waits and then retries. (SQLite has one writer at a time by design,
/// so there the question does not arise.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrelated_chains_do_not_wait_for_each_other_on_postgres() {
    let Some(db) = Database::fresh(Backend::Postgres).await else {
        return;
    };
    let store = Store::open(&StoreOptions::new(db.url.clone()))
        .await
        .unwrap();
    store
        .begin()
        .await
        .unwrap()
        .finish(&change("challenges/x"))
        .await
        .unwrap();

    let mut holding_x = store.begin().await.unwrap();
    holding_x.record(&change("challenges/x")).await.unwrap();

    let other_chain = tokio::time::timeout(Duration::from_secs(2), async {
        store.begin().await?.finish(&change("challenges/y")).await
    })
    .await;
    assert!(
        matches!(other_chain, Ok(Ok(()))),
        "a write to another chain must not wait: {other_chain:?}"
    );

    // Another process: it has no hint of chain X's head, reads it, and loses the race at the
    // head's version check. (This process's own stale hint goes on from the re-read head:
    // `two_servers_appending_to_one_chain_in_turn_keep_it_whole` in audit.rs.)
    let same_store = Store::open(&StoreOptions::new(db.url.clone()))
        .await
        .unwrap();
    let other_process = same_store.clone();
    let same_chain = tokio::spawn(async move {
        let mut tx = same_store.begin().await?;
        tx.record(&change("challenges/x")).await?;
        tx.commit().await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !same_chain.is_finished(),
        "a second writer on the same chain waits its turn"
    );
    holding_x.commit().await.unwrap();
    let loser = same_chain.await.unwrap();
    assert!(matches!(loser, Err(StoreError::Conflict)), "{loser:?}");

    let verified = jiebang_storage::audit::verify(&store, None).await.unwrap();
    assert!(verified.breaks.is_empty(), "{:?}", verified.breaks);
    assert_eq!(verified.records_checked, 3);
    other_process.close().await;
    store.close().await;
    db.drop_database().await;
}

/// Verification reads every chain's head and every record in one snapshot: an append that
/// commits while it reads is either wholly in what it checks or wholly out, so chains growing
/// under it never show as broken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifying_while_chains_grow_never_reports_a_break() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = Database::fresh(backend).await else {
            continue;
        };
        let store = Store::open(&StoreOptions::new(db.url.clone()))
            .await
            .unwrap();
        let writer = store.clone();
        let appending = tokio::spawn(async move {
            for i in 0..400 {
                let chain = format!("challenges/c{}", i % 7);
                writer
                    .begin()
                    .await
                    .unwrap()
                    .finish(&change(&chain))
                    .await
                    .unwrap();
            }
        });
        let mut verifications = 0;
        while !appending.is_finished() {
            let verified = jiebang_storage::audit::verify(&store, None).await.unwrap();
            assert!(
                verified.breaks.is_empty(),
                "{backend:?}, verification {verifications}: {:?}",
                verified.breaks
            );
            verifications += 1;
        }
        appending.await.unwrap();
        assert!(
            verifications > 3,
            "{backend:?}: verified only {verifications} times"
        );
        let verified = jiebang_storage::audit::verify(&store, None).await.unwrap();
        assert!(verified.breaks.is_empty(), "{:?}", verified.breaks);
        assert_eq!(verified.records_checked, 400);
        store.close().await;
        db.drop_database().await;
    }
}
