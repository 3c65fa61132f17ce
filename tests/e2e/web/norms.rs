//! The public service-norms page (issue 16): no sign-in, the desk's norms and the last 30 days'
//! shares per channel, no personal data, cached for five minutes.

use super::*;

both_backends!(the_public_sees_the_norms_and_no_personal_data);

async fn the_public_sees_the_norms_and_no_personal_data(app: TestApp) {
    let d = desk(&app).await;
    citizen_message(
        &app,
        &d.account,
        "norm-1",
        ("u-norm", "Willemijn Kroeze"),
        "Wanneer wordt de straat geveegd?",
    )
    .await;
    let anonymous = client();
    let res = anonymous
        .get(format!("{}/public/service-norms", app.base))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let n: serde_json::Value = res.json().await.unwrap();
    assert_eq!(n["reactionBusinessMinutes"], 240, "{n}");
    assert_eq!(n["resolutionBusinessMinutes"], 1440, "{n}");
    let channels = n["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1, "{n}");
    assert_eq!(channels[0]["channel"], "api");
    assert_eq!(channels[0]["cases"], 1);
    // Nothing waited out a norm yet: nothing judged.
    assert!(channels[0]["reactionWithinNorm"].is_null(), "{n}");

    let p = page(
        anonymous
            .get(format!("{}/public/service-norms", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(p.status, 200);
    assert!(
        p.body.contains("Onze servicenormen") && p.body.contains("4 uur"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("Willemijn") && !p.body.contains("geveegd"));

    // Cached: a new question shows after at most five minutes, not at once.
    citizen_message(&app, &d.account, "norm-2", ("u-2", "Tom"), "Vraag").await;
    let again: serde_json::Value = anonymous
        .get(format!("{}/public/service-norms", app.base))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["generatedAt"], n["generatedAt"]);
    assert_eq!(again["channels"][0]["cases"], 1);
}
