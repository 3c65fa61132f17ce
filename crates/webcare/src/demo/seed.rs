//! The demo's people, set up through the REST API as a functioneel beheerder would: team `kcc`
//! handing out cases in turn, agents Anna and Bram, team lead Tessa, the department Openbare
//! ruimte with its user Piet, and canned answers. A rerun finds them again.

use anyhow::Context;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use webcare_domain::Role;
use webcare_store::Store;

/// A sign-in to print.
/// The password of every seeded user in the web app.
pub const DEMO_PASSWORD: &str = "webcare-demo-wachtwoord";

#[derive(Debug, Clone)]
pub struct SignIn {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub user_id: String,
    pub token: String,
}

pub struct Desk {
    /// Anna (agent) first, then Tessa (team lead), Piet (department), Bram (agent).
    pub sign_ins: Vec<SignIn>,
    pub bram: SignIn,
}

/// POSTs `body` to `path`; when it exists already (409), finds it in the list by `key`.
async fn ensure(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    path: &str,
    body: Value,
    key: &str,
) -> anyhow::Result<Value> {
    let res = client
        .post(format!("{base}{path}"))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await?;
    let status = res.status().as_u16();
    let got: Value = res.json().await.unwrap_or_default();
    match status {
        201 => Ok(got),
        409 => {
            let list: Value = client
                .get(format!("{base}{path}?limit=200"))
                .bearer_auth(admin)
                .send()
                .await?
                .json()
                .await?;
            list["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i[key] == body[key]).cloned())
                .with_context(|| format!("{path}: {} exists but is not listed", body[key]))
        }
        _ => anyhow::bail!("POST {path} answered {status}: {got}"),
    }
}

pub async fn seed(store: &Arc<dyn Store>, base: &str, admin: &str) -> anyhow::Result<Desk> {
    let client = reqwest::Client::new();
    let post = |path: &'static str, body: Value, key: &'static str| {
        ensure(&client, base, admin, path, body, key)
    };
    post(
        "/api/v1/teams",
        json!({"name": "kcc", "autoAssign": "round_robin", "maxOpenPerAgent": 25}),
        "name",
    )
    .await?;
    let department = post(
        "/api/v1/departments",
        json!({"name": "Openbare ruimte", "answerMinutes": 30,
               "contactPersons": [{"name": "Piet Hendriks", "email": "piet@gemeente.example"}]}),
        "name",
    )
    .await?;
    for (title, text) in [
        ("Ontvangstbevestiging", "Dag {{voornaam}}, dank voor uw bericht! We zoeken het uit en komen er zo snel mogelijk op terug. Groet, {{agent}}"),
        ("Melding doorgezet", "Dag {{voornaam}}, we hebben uw melding doorgezet naar de afdeling. U hoort binnen twee werkdagen van ons. Groet, {{agent}}"),
        ("Openingstijden", "Dag {{voornaam}}, we zijn bereikbaar {{openingstijden}}. Groet, {{agent}}"),
        webcare_domain::canned::MOVE_TO_PRIVATE,
    ] {
        post("/api/v1/canned-answers", json!({"title": title, "text": text}), "title").await?;
    }
    let people = [
        ("Anna de Vries", "anna@gemeente.example", Role::Agent),
        ("Tessa Smit", "tessa@gemeente.example", Role::Teamlead),
        ("Piet Hendriks", "piet@gemeente.example", Role::Department),
        ("Bram Mulder", "bram@gemeente.example", Role::Agent),
        // Functioneel beheer, so a newcomer sees the Beheer pages too.
        ("Ada Bakker", "ada@gemeente.example", Role::Admin),
    ];
    let mut sign_ins = Vec::new();
    for (name, email, role) in people {
        let mut body = json!({"name": name, "email": email, "role": role.as_str()});
        if role == Role::Department {
            body["departmentId"] = department["id"].clone();
        } else {
            body["teams"] = json!(["kcc"]);
        }
        let user = post("/api/v1/users", body, "email").await?;
        let user_id: uuid::Uuid = user["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .context("a user id")?;
        // The web app's sign-in (a demo password: this desk runs on this machine only).
        let hash = webcare_web::password::hash(DEMO_PASSWORD)
            .map_err(|e| anyhow::anyhow!("hashing the demo password: {e}"))?;
        store.set_password_hash(user_id, &hash).await?;
        // The user's own token: it acts as that user (assignee=me, audit, scope).
        let token = webcare_store::token::generate();
        store
            .add_token(webcare_store::NewToken {
                user_id: Some(user_id),
                name: "demo",
                role,
                token_hash: &webcare_store::token::hash(&token),
            })
            .await?;
        sign_ins.push(SignIn {
            name: name.into(),
            email: email.into(),
            role,
            user_id: user_id.to_string(),
            token,
        });
    }
    let bram = sign_ins[3].clone();
    Ok(Desk { sign_ins, bram })
}

/// Bram answers each new case assigned to him once it is `answer_after` old: a canned
/// acknowledgement, sent through the outbox to the fake platform. The rest waits for a person.
pub async fn colleague(base: String, admin: String, bram: SignIn, answer_after: Duration) {
    let client = reqwest::Client::new();
    let mut answered = std::collections::HashSet::<String>::new();
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let url = format!(
            "{base}/api/v1/cases?status=new&assignee={}&sort=oldest&limit=20",
            bram.user_id
        );
        let Ok(res) = client.get(url).bearer_auth(&admin).send().await else {
            continue;
        };
        let list: Value = res.json().await.unwrap_or_default();
        let cutoff = chrono::Utc::now() - answer_after;
        for c in list["items"].as_array().into_iter().flatten() {
            let id = c["id"].as_str().unwrap_or_default().to_owned();
            let created = c["createdAt"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            if answered.contains(&id) || created.is_none_or(|t| t > cutoff) {
                continue;
            }
            let reply = json!({"text": "Dank voor uw bericht! We hebben het doorgezet en laten het u binnen twee werkdagen weten. Groet, Bram"});
            let sent = client
                .post(format!("{base}/api/v1/cases/{id}/replies"))
                .bearer_auth(&bram.token)
                .json(&reply)
                .send()
                .await;
            if let Ok(res) = sent {
                println!("← Bram answers case {id} ({})", res.status().as_u16());
            }
            answered.insert(id);
        }
    }
}

/// The rule that makes a broken streetlight a zaak (in the demo's fake Open Zaak).
const ZAAK_RULE: &str = "Kapotte straatverlichting wordt een zaak";

/// A melding about a broken streetlight becomes a zaak and goes to Openbare ruimte: one routing
/// rule, pointed at this run's zaaktype (the fake Open Zaak's URLs change with every run).
pub async fn zaak_rule(base: &str, admin: &str, zaaktype: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let req = client.get(format!("{base}{path}")).bearer_auth(admin);
        async move {
            anyhow::Ok(
                req.send()
                    .await?
                    .error_for_status()?
                    .json::<Value>()
                    .await?,
            )
        }
    };
    let departments = get("/api/v1/departments?limit=200".into()).await?;
    let department = departments["items"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "Openbare ruimte"))
        .context("the demo's department")?;
    let actions = json!({"departmentId": department["id"], "createZaak": zaaktype});
    let rules = get("/api/v1/routing-rules".into()).await?;
    let existing = rules["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == ZAAK_RULE));
    let req = match existing.and_then(|r| r["id"].as_str()) {
        Some(id) => client
            .patch(format!("{base}/api/v1/routing-rules/{id}"))
            .json(&json!({"actions": actions})),
        None => client
            .post(format!("{base}/api/v1/routing-rules"))
            .json(&json!({
                "name": ZAAK_RULE,
                "conditions": {"keywords": ["lantaarnpaal", "straatverlichting"]},
                "actions": actions,
            })),
    };
    let res = req.bearer_auth(admin).send().await?;
    let status = res.status();
    anyhow::ensure!(
        status.is_success(),
        "the zaak rule: {status} {}",
        res.text().await.unwrap_or_default()
    );
    Ok(())
}
