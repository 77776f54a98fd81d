//! The documentation must not fall behind the code: every operation in the OpenAPI
//! document (which is generated from the handlers, so it lists exactly what is served) has a
//! row in docs/api.md.

use std::collections::BTreeSet;
use std::path::Path;

/// `/a/{account_id}/b/{id}` and `/a/{x}/b/{y}` name the same route.
fn normalise(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out.trim_end_matches('/').to_string()
}

/// `(METHOD, path)` of every table row of the form `| GET | \`/path\` | …`.
fn documented_routes(md: &str) -> BTreeSet<(String, String)> {
    md.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let method = cells.get(1)?;
            let path = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
            METHODS
                .contains(method)
                .then(|| (method.to_string(), normalise(path)))
        })
        .collect()
}

#[test]
fn api_md_lists_every_served_route() {
    let md =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md"))
            .expect("docs/api.md");
    let documented = documented_routes(&md);
    assert!(
        documented.len() >= 10,
        "docs/api.md's route tables were not recognised ({} rows)",
        documented.len()
    );

    let (_, openapi) = parley_http::api_parts();
    let doc = serde_json::to_value(&openapi).expect("OpenAPI as JSON");
    let paths = doc["paths"].as_object().expect("paths");
    let mut missing = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete", "head", "options"] {
            if item.get(method).is_some() {
                let key = (method.to_uppercase(), normalise(path));
                if !documented.contains(&key) {
                    missing.push(format!(
                        "| {} | `{path}` | Chatwoot: … or Parley | … |",
                        key.0
                    ));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/api.md lacks these served routes; add rows like:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_route_parser_reads_rows_and_ignores_prose() {
    let md = "| Method | Path |\n|---|---|\n| GET | `/api/v1/accounts/{account_id}/x/{id}` | a |\nGET `/nope`\n";
    let routes = documented_routes(md);
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        vec![("GET".to_string(), "/api/v1/accounts/{}/x/{}".to_string())]
    );
}
