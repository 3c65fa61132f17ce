//! Citizen satisfaction surveys (issue 16) end to end, against the fake WhatsApp: the account
//! setting through the API, the survey scheduled with the resolve and sent by the outbox after
//! the delay, once; the answer stored without reopening; a question reopening; the report.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use webcare_e2e::connectors::*;
use webcare_e2e::expect_problem;

const WA_PHONE: &str = "109876543210987";
const CSAT_TEXT: &str =
    "Hoe tevreden bent u over ons antwoord? Antwoord met een cijfer van 1 tot 5.";

webcare_e2e::both_backends!(
    app = webcare_e2e::connectors::ConnApp;
    the_survey_setting_is_validated_and_a_delayed_survey_waits,
    a_survey_is_sent_once_its_answer_does_not_reopen_and_the_report_counts_it,
    public_threads_only_when_configured_and_once_per_contact_per_period,
    a_whatsapp_survey_with_the_window_closed_and_no_template_is_skipped,
);

const PAGE: &str = "104961234567890";
const POST: &str = "104961234567890_822112233445566";

fn comment(id: &str, from: &str, message: &str) -> String {
    json!({"object": "page", "entry": [{"id": PAGE, "time": 1773125114, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": id, "post_id": POST, "parent_id": POST,
        "from": {"id": from, "name": "Fatima"}, "message": message, "created_time": Utc::now().timestamp()}}]}]})
    .to_string()
}

/// A public comment's case, answered and resolved; answers the case id.
async fn public_case_resolved(app: &ConnApp, id: &str, from: &str) -> String {
    let before: Vec<Value> = app.cases().await;
    assert_eq!(
        app.post_meta(&comment(id, from, "Lantaarnpaal kapot"))
            .await
            .status(),
        200
    );
    app.settle().await;
    let cases = app.cases().await;
    assert_eq!(cases.len(), before.len() + 1, "a new case");
    let case_id = cases.last().unwrap()["id"].as_str().unwrap().to_owned();
    app.reply_sent(&case_id, json!({"text": "Dank u, we geven het door."}))
        .await;
    resolve(app, &case_id).await;
    case_id
}

async fn set_status(app: &ConnApp, case_id: &str, status: &str) {
    let res = app
        .patch(
            &format!("/api/v1/cases/{case_id}"),
            &json!({ "status": status }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

fn wa_message(id: &str, text: &str) -> String {
    wa_message_at(id, text, Utc::now())
}

fn wa_message_at(id: &str, text: &str, at: chrono::DateTime<Utc>) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value":
        {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA_PHONE},
        "contacts": [{"profile": {"name": "Sanne"}, "wa_id": "31612345678"}],
        "messages": [{"from": "31612345678", "id": id, "timestamp": at.timestamp().to_string(), "type": "text", "text": {"body": text}}]}}]}]})
    .to_string()
}

async fn citizen_writes(app: &ConnApp, id: &str, text: &str) {
    assert_eq!(app.post_meta(&wa_message(id, text)).await.status(), 200);
    app.settle().await;
}

async fn set_survey(app: &ConnApp, account: &str, survey: Value) -> reqwest::Response {
    app.patch(
        &format!("/api/v1/channel-accounts/{account}"),
        &json!({ "survey": survey }),
    )
    .send()
    .await
    .unwrap()
}

/// A case with an answer sent, then resolved; answers the case id.
async fn answered_and_resolved(app: &ConnApp) -> String {
    citizen_writes(app, "wamid.IN1", "Wanneer wordt het grofvuil opgehaald?").await;
    let cases = app.cases().await;
    assert_eq!(cases.len(), 1);
    let case_id = cases[0]["id"].as_str().unwrap().to_owned();
    app.reply_sent(&case_id, json!({"text": "Op dinsdag."}))
        .await;
    resolve(app, &case_id).await;
    case_id
}

async fn resolve(app: &ConnApp, case_id: &str) {
    let res = app
        .patch(
            &format!("/api/v1/cases/{case_id}"),
            &json!({"status": "resolved"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn surveys_of(app: &ConnApp, case_id: &str) -> Vec<Value> {
    let list: Value = app
        .get(&format!("/api/v1/cases/{case_id}/replies"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["text"] == CSAT_TEXT)
        .cloned()
        .collect()
}

async fn the_survey_setting_is_validated_and_a_delayed_survey_waits(app: ConnApp) {
    let account = app.account("whatsapp", WA_PHONE).await;
    let v: Value = app
        .get(&format!("/api/v1/channel-accounts/{account}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["survey"]["enabled"], false, "off by default: {v}");

    let res = set_survey(
        &app,
        &account,
        json!({"enabled": true, "delayMinutes": 2000, "periodDays": 0, "whatsappTemplate": "Niet Goed"}),
    )
    .await;
    let p = expect_problem(res, 400).await;
    let names: Vec<&str> = p["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "survey.delayMinutes",
            "survey.periodDays",
            "survey.whatsappTemplate"
        ]
    );
    let res = set_survey(&app, &account, json!({"kind": "ces"})).await;
    assert_eq!(res.status(), 400);

    let res = set_survey(
        &app,
        &account,
        json!({"enabled": true, "delayMinutes": 60, "whatsappTemplate": "tevredenheid"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["survey"]["delayMinutes"], 60);
    assert_eq!(v["survey"]["kind"], "csat");

    let case_id = answered_and_resolved(&app).await;
    let surveys = surveys_of(&app, &case_id).await;
    assert_eq!(surveys.len(), 1, "scheduled with the resolve");
    assert_eq!(surveys[0]["state"], "pending");
    let on_case = &app.case(&case_id).await["survey"];
    assert_eq!(on_case["state"], "scheduled", "{on_case}");
    assert!(on_case["sentAt"].is_null() && on_case["score"].is_null());
    let due: chrono::DateTime<Utc> =
        serde_json::from_value(surveys[0]["nextAttemptAt"].clone()).unwrap();
    assert!(
        due > Utc::now() + Duration::minutes(58),
        "after the delay: {due}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.fakes.requests_to("POST", "/messages").len(),
        1,
        "only the agent's answer went out"
    );
    assert_eq!(app.case(&case_id).await["status"], "resolved");
}

async fn a_survey_is_sent_once_its_answer_does_not_reopen_and_the_report_counts_it(app: ConnApp) {
    let account = app.account("whatsapp", WA_PHONE).await;
    let res = set_survey(&app, &account, json!({"enabled": true, "delayMinutes": 0})).await;
    assert_eq!(res.status(), 200);
    let case_id = answered_and_resolved(&app).await;
    let survey = surveys_of(&app, &case_id).await;
    assert_eq!(survey.len(), 1);
    let survey_id = survey[0]["id"].as_str().unwrap().to_owned();
    app.wait_reply(&case_id, &survey_id, |r| r["state"] == "sent")
        .await;
    let sent = app.fakes.requests_to("POST", "/messages");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].json["text"]["body"], CSAT_TEXT);

    // The answer: stored, and the case stays resolved.
    citizen_writes(&app, "wamid.IN2", "4, snel geholpen").await;
    assert_eq!(app.cases().await.len(), 1);
    assert_eq!(app.case(&case_id).await["status"], "resolved");
    let id = uuid::Uuid::parse_str(&case_id).unwrap();
    let stored = app.store.case_survey(id).await.unwrap().unwrap();
    assert_eq!(stored.score, Some(4));
    assert_eq!(stored.comment.as_deref(), Some("snel geholpen"));
    let survey = &app.case(&case_id).await["survey"];
    assert_eq!(survey["state"], "answered", "on the case: {survey}");
    assert_eq!(survey["kind"], "csat");
    assert_eq!(survey["score"], 4);
    assert_eq!(survey["comment"], "snel geholpen");
    assert!(survey["sentAt"].is_string() && survey["answeredAt"].is_string());

    // The report.
    let from = (Utc::now() - Duration::days(1)).format("%Y-%m-%d");
    let to = (Utc::now() + Duration::days(2)).format("%Y-%m-%d");
    let res = app
        .get(&format!("/api/v1/reports/satisfaction?from={from}&to={to}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    let row = &v["rows"][0];
    assert_eq!(row["cases"], 1, "{v}");
    assert_eq!(row["surveysSent"], 1);
    assert_eq!(row["surveysAnswered"], 1);
    assert_eq!(row["responseRate"], 1.0);
    assert_eq!(row["meanScore"], 4.0);
    assert_eq!(row["csatShare"], 1.0);
    assert!(row["nps"].is_null());

    // The comment, per theme (none set: the empty group), in JSON and CSV.
    let q = format!("from={from}&to={to}&groupBy=theme,channel");
    let v: Value = app
        .get(&format!("/api/v1/reports/satisfaction/comments?{q}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["columns"],
        json!([
            "theme",
            "channel",
            "caseId",
            "kind",
            "score",
            "comment",
            "answeredAt"
        ])
    );
    assert_eq!(v["rows"].as_array().unwrap().len(), 1, "{v}");
    let c = &v["rows"][0];
    assert_eq!(
        (&c["theme"], &c["channel"]),
        (&json!(""), &json!("whatsapp"))
    );
    assert_eq!((&c["caseId"], &c["score"]), (&json!(case_id), &json!(4)));
    assert_eq!(c["comment"], "snel geholpen");
    let res = app
        .get(&format!("/api/v1/reports/satisfaction/comments.csv?{q}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "theme,channel,caseId,kind,score,comment,answeredAt"
    );
    assert!(
        lines[1].starts_with(&format!(",whatsapp,{case_id},csat,4,snel geholpen,")),
        "{csv}"
    );
    let bad = app
        .get(&format!(
            "/api/v1/reports/satisfaction/comments?from={from}&to={to}&groupBy=colour"
        ))
        .send()
        .await
        .unwrap();
    expect_problem(bad, 400).await;

    // A question reopens; resolved again, no second survey.
    citizen_writes(&app, "wamid.IN3", "En wanneer komt het oud papier?").await;
    assert_eq!(app.case(&case_id).await["status"], "open");
    app.reply_sent(&case_id, json!({"text": "Op woensdag."}))
        .await;
    resolve(&app, &case_id).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(surveys_of(&app, &case_id).await.len(), 1, "once per case");
    assert_eq!(app.fakes.requests_to("POST", "/messages").len(), 3);
}

async fn public_threads_only_when_configured_and_once_per_contact_per_period(app: ConnApp) {
    let account = app.account("facebook_page", PAGE).await;
    let res = set_survey(&app, &account, json!({"enabled": true, "delayMinutes": 0})).await;
    assert_eq!(res.status(), 200);
    let c1 = public_case_resolved(&app, "822112233445566_1", "6987654321000001").await;
    assert!(
        surveys_of(&app, &c1).await.is_empty(),
        "never in public by default"
    );

    let res = set_survey(
        &app,
        &account,
        json!({"enabled": true, "delayMinutes": 0, "publicThreads": true, "periodDays": 30}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let c2 = public_case_resolved(&app, "822112233445566_2", "6987654321000002").await;
    let s = surveys_of(&app, &c2).await;
    assert_eq!(s.len(), 1, "public threads when configured");
    assert_eq!(s[0]["visibility"], "public");
    assert_eq!(s[0]["inReplyTo"], "822112233445566_2");

    // The same citizen's next case within the period gets none.
    set_status(&app, &c2, "closed").await;
    let c3 = public_case_resolved(&app, "822112233445566_3", "6987654321000002").await;
    assert_ne!(c3, c2);
    assert!(
        surveys_of(&app, &c3).await.is_empty(),
        "once per contact per period"
    );
}

async fn a_whatsapp_survey_with_the_window_closed_and_no_template_is_skipped(app: ConnApp) {
    let account = app.account("whatsapp", WA_PHONE).await;
    let res = set_survey(&app, &account, json!({"enabled": true, "delayMinutes": 0})).await;
    assert_eq!(res.status(), 200);
    // The citizen wrote two days ago: the 24-hour window has closed, and there is no template.
    let old = Utc::now() - Duration::days(2);
    assert_eq!(
        app.post_meta(&wa_message_at("wamid.OLD", "Is de milieustraat open?", old))
            .await
            .status(),
        200
    );
    app.settle().await;
    let case_id = app.cases().await[0]["id"].as_str().unwrap().to_owned();
    resolve(&app, &case_id).await;

    let mut survey = Value::Null;
    for _ in 0..300 {
        survey = app.case(&case_id).await["survey"].clone();
        if survey["state"] != "scheduled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    assert_eq!(survey["state"], "skipped", "{survey}");
    assert_eq!(
        survey["reason"],
        "WhatsApp-venster gesloten en geen sjabloon"
    );
    assert!(survey["sentAt"].is_null() && survey["endedAt"].is_string());
    assert!(
        app.fakes.requests_to("POST", "/messages").is_empty(),
        "no platform call"
    );
    assert!(
        surveys_of(&app, &case_id).await.is_empty(),
        "no failed reply"
    );

    // Counted as not sent.
    let from = (old - Duration::days(1)).format("%Y-%m-%d");
    let to = (Utc::now() + Duration::days(2)).format("%Y-%m-%d");
    let v: Value = app
        .get(&format!("/api/v1/reports/satisfaction?from={from}&to={to}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["rows"][0]["cases"], 1, "{v}");
    assert_eq!(v["rows"][0]["surveysSent"], 0);
}
