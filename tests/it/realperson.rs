//! The real-person whitelist over real HTTP: submit, status and batch status, manual review by
//! an operator (who and when recorded), and use as `asset://rp_…` / `asset_ref` once Active.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_real_person_is_usable_only_after_an_operator_approves() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = media_server(vec![("face.png", png(600, 800, [180, 140, 120]))]).await;
    let url = format!("{}/face.png", media.base);
    let submitted = app.realperson_submit("Ada", &url).await;
    assert_eq!(submitted.status, 200, "{:?}", submitted.body);
    let data = submitted.data().clone();
    let id = data["asset_id"].as_str().expect("id").to_string();
    assert!(id.starts_with("rp_"), "{id}");
    assert_eq!(data["status"], "Processing");
    assert!(data["asset_ref"].is_null());
    assert_eq!(data["name"], "Ada");
    assert_eq!(data["url"], url.as_str());

    let view = app.wait_asset(&id).await;
    assert_eq!(
        view["status"], "Processing",
        "manual policy waits for a person: {view}"
    );
    let body = |media: &str| json!({"model": "seedance2.0-sp", "prompt": "she waves", "duration": 4, "resolution": "480p", "images": [media]});
    let early = app.create_task(&body(&format!("asset://{id}"))).await;
    assert_eq!(early.code(), 40003, "{:?}", early.body);
    assert_eq!(early.data()["param"], "images[0]");

    let pending = app.admin_get("/reviews?purpose=realperson").await;
    assert_eq!(
        pending.data()["items"][0]["asset_id"],
        id.as_str(),
        "{:?}",
        pending.body
    );
    let approved = app
        .admin_post(&format!("/reviews/{id}/approve"), &json!({}))
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);

    let status = app.realperson_status_as(&app.key, &id).await;
    let status = status.data();
    assert_eq!(status["status"], "Active");
    let asset_ref = status["asset_ref"].as_str().expect("asset_ref").to_string();
    assert_eq!(asset_ref, format!("asset://{id}"));
    assert_eq!(status["reviewed_by"], "admin:alice");
    assert!(status["reviewed_at"].as_i64().unwrap_or(0) > 0);

    let created = app.create_task(&body(&asset_ref)).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(task["status"], "completed", "{task}");

    let trail = app.admin_get("/audit").await;
    assert!(
        trail.data()["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|a| a["action"] == "realperson.approve" && a["target"] == id.as_str()),
        "{:?}",
        trail.body
    );
    app.finish().await;
}

#[tokio::test]
async fn rejected_and_foreign_real_person_records() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = media_server(vec![("face.png", png(600, 800, [180, 140, 120]))]).await;
    let url = format!("{}/face.png", media.base);
    let first = app.realperson_submit("Bob", &url).await.data()["asset_id"]
        .as_str()
        .expect("id")
        .to_string();
    let second = app.realperson_submit("Eve", &url).await.data()["asset_id"]
        .as_str()
        .expect("id")
        .to_string();
    app.wait_asset(&first).await;
    app.wait_asset(&second).await;
    let rejected = app
        .admin_post(
            &format!("/reviews/{second}/reject"),
            &json!({"reason": "no consent on file"}),
        )
        .await;
    assert_eq!(rejected.status, 200, "{:?}", rejected.body);

    let batch = app.realperson_batch_status(&[&first, &second]).await;
    assert_eq!(batch.status, 200, "{:?}", batch.body);
    let items = batch.data()["items"].as_array().expect("items").clone();
    assert_eq!(items[0]["status"], "Processing");
    assert_eq!(items[1]["status"], "Failed");
    assert_eq!(items[1]["reason"], "no consent on file");
    assert!(items[1]["asset_ref"].is_null());

    let (_other, other_key) = app.new_account(0).await;
    let foreign = app.realperson_status_as(&other_key, &first).await;
    assert_eq!(
        (foreign.status, foreign.code()),
        (404, 40400),
        "{:?}",
        foreign.body
    );
    // The asset routes do not show real-person records, nor the reverse.
    assert_eq!(app.asset_detail_as(&app.key, &first).await.status, 404);
    app.finish().await;
}
