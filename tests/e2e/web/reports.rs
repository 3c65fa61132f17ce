//! The report page (issue 16) over plain HTTP: a team lead reads a report in a table, downloads
//! the same rows as CSV and is told in Dutch what is wrong with the form; agents may not.

use super::{desk, desk_user, Web};
use crate::agent::citizen_message;
use serde_json::json;
use webcare_e2e::{both_backends, TestApp};

both_backends!(the_team_lead_reads_reports_and_downloads_csv);

async fn the_team_lead_reads_reports_and_downloads_csv(app: TestApp) {
    let d = desk(&app).await;
    for (id, who) in [("m1", ("u1", "Karin")), ("m2", ("u2", "Joost"))] {
        citizen_message(
            &app,
            &d.account,
            id,
            who,
            "Wanneer wordt het grofvuil opgehaald?",
        )
        .await;
    }
    desk_user(
        &app,
        json!({"name": "Tessa Smit", "email": "tessa@gemeente.test", "role": "teamlead", "teams": ["kcc"]}),
    )
    .await;
    let tessa = Web::sign_in(&app, "tessa@gemeente.test").await;

    // The board links to the reports.
    let board = tessa.get("/board").await;
    assert!(
        board.body.contains(r#"href="/rapportages""#),
        "{}",
        board.body
    );

    // The page opens on the last 30 days: both cases, counted per channel.
    let p = tessa
        .get("/rapportages?rapport=volume&groep1=channel")
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p
        .body
        .contains("<h1 class=\"utrecht-heading-1\">Rapportages</h1>"));
    assert!(p.body.contains(r#"<th class="utrecht-table__header-cell" scope="col">Kanaal</th><th class="utrecht-table__header-cell" scope="col">Zaken</th>"#), "{}", p.body);
    assert!(
        p.body.contains(r#"<td class="utrecht-table__cell">API</td><td class="utrecht-table__cell">2</td><td class="utrecht-table__cell">2</td><td class="utrecht-table__cell">0</td>"#),
        "{}",
        p.body
    );
    // The same figure as a chart drawn on the server: one bar per row, labelled as the table.
    assert!(
        p.body
            .contains(r#"<svg role="img" aria-labelledby="chart-title""#),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"<title id="chart-title">Zaken per groep"#),
        "{}",
        p.body
    );
    assert_eq!(
        p.body.matches("class=\"wc-chart-bar\"").count(),
        1,
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"class="wc-chart-label">API</text>"#),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"class="wc-chart-value">2</text>"#),
        "{}",
        p.body
    );
    // Ungrouped, a chart of one bar says nothing: none is drawn.
    let total = tessa.get("/rapportages?rapport=volume&groep1=").await;
    assert_eq!(total.status, 200, "{}", total.body);
    assert!(!total.body.contains("<svg"), "{}", total.body);
    // The download link carries the same form; it answers the same rows as CSV.
    let link = super::between(&p.body, r#"href="/rapportages.csv"#, "\" download")
        .map(|q| format!("/rapportages.csv{}", q.replace("&#38;", "&")))
        .expect("a CSV link");
    assert!(
        link.starts_with("/rapportages.csv?rapport=volume&from="),
        "{link}"
    );
    assert!(link.ends_with("&groep1=channel"), "{link}");
    let csv = tessa.get(&link).await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        csv.body,
        "channel,cases,messagesIn,messagesOut,backlogStart,backlogEnd,backlogAt,previousCases,casesChangeShare\r\napi,2,2,0,0,2,,0,\r\n"
    );
    // The backlog and the change have their Dutch headers.
    for header in [
        "Open bij begin",
        "Open bij einde",
        "Zaken vorige periode",
        "Verandering (%)",
    ] {
        assert!(p.body.contains(header), "{header}: {}", p.body);
    }

    // Reaction times: nothing answered yet, so no median ("–") and the share is empty.
    let p = tessa.get("/rapportages?rapport=reaction").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("Reactie, werkminuten, mediaan"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("Volgende reactie, werkminuten, mediaan"),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"<td class="utrecht-table__cell">–</td>"#));

    // The themes report: the cases without a theme are "geen thema", split by visibility (the
    // messages here are private), with the share of all cases and the registration coverage.
    let p = tessa
        .get("/rapportages?rapport=themes&groep2=visibility")
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    for want in [
        r#"<option value="themes" selected>Per thema</option>"#,
        r#"<option value="visibility" selected>Openbaar of privé</option>"#,
        r#"<th class="utrecht-table__header-cell" scope="col">Thema</th><th class="utrecht-table__header-cell" scope="col">Openbaar of privé</th><th class="utrecht-table__header-cell" scope="col">Zaken</th><th class="utrecht-table__header-cell" scope="col">Aandeel van alle zaken (%)</th>"#,
        r#"<td class="utrecht-table__cell">geen thema</td><td class="utrecht-table__cell">privé</td><td class="utrecht-table__cell">2</td><td class="utrecht-table__cell">100,0%</td><td class="utrecht-table__cell">0</td><td class="utrecht-table__cell">–</td><td class="utrecht-table__cell">0,0%</td>"#,
        r#"href="/rapportages.csv?rapport=themes&#38;from="#,
    ] {
        assert!(p.body.contains(want), "{want}: {}", p.body);
    }
    let link = super::between(&p.body, r#"href="/rapportages.csv"#, "\" download")
        .map(|q| format!("/rapportages.csv{}", q.replace("&#38;", "&")))
        .expect("a CSV link");
    let csv = tessa.get(&link).await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(
        csv.body,
        "theme,visibility,cases,casesShare,previousCases,casesChangeShare,themeCoverageShare,reactions,reactionBusinessMinutesMedian,reactionWallMinutesMedian,reactionWithinNormShare,within24hShare,forwarded,forwardedShare\r\n,private,2,1,0,,0,0,,,,,0,0\r\n"
    );
    // The norms report has the questionnaire's columns.
    let p = tessa.get("/rapportages?rapport=norms").await;
    assert_eq!(p.status, 200, "{}", p.body);
    for header in ["Reactie binnen 1 uur (%)", "Afgehandeld binnen 48 uur (%)"] {
        assert!(p.body.contains(header), "{header}: {}", p.body);
    }

    // Dates are typed and shown dd-mm-jjjj (not the browser's locale), with the format as a hint.
    let p = tessa
        .get("/rapportages?rapport=volume&from=01-11-2026&to=1-12-2026")
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(!p.body.contains(r#"type="date""#), "{}", p.body);
    for want in [
        r#"id="from" name="from" inputmode="numeric" autocomplete="off" placeholder="dd-mm-jjjj" value="01-11-2026" aria-describedby="from-hint""#,
        r#"value="01-12-2026""#,
        r#"<p class="utrecht-form-field-description" id="from-hint">Schrijf de datum als dd-mm-jjjj, bijvoorbeeld 24-12-2026.</p>"#,
        "zaken aangekomen van 01-11-2026 tot 01-12-2026",
    ] {
        assert!(p.body.contains(want), "{want}: {}", p.body);
    }
    let p = tessa
        .get("/rapportages?rapport=volume&from=11/31/2026")
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains(r#"aria-describedby="from-hint from-error" aria-invalid="true""#),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"id="from-error">Vul een datum in (dd-mm-jjjj)."#),
        "{}",
        p.body
    );

    // A bad form: 400, the Dutch message beside the field, no table.
    let p = tessa
        .get("/rapportages?rapport=volume&from=2026-02-30&to=2026-03-01")
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("Vul een datum in"), "{}", p.body);
    assert!(!p.body.contains("utrecht-table__body"));
    let p = tessa
        .get("/rapportages?rapport=volume&from=2026-03-02&to=2026-03-01")
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Kies een einddatum na de begindatum."));

    // Agents may not; a department user sees their own department (nothing forwarded: 0).
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(anna.get("/rapportages").await.status, 403);
    assert_eq!(anna.get("/rapportages.csv").await.status, 403);
    let piet = Web::sign_in(&app, "piet@gemeente.test").await;
    let p = piet.get("/rapportages?rapport=volume").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains(r#"<td class="utrecht-table__cell">0</td>"#),
        "{}",
        p.body
    );
}
