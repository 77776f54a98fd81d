//! The error responses of every operation in the OpenAPI document, added in one pass from
//! what the route is (finding 12 of issue 12).
//!
//! Most error codes do not come from a handler but from what every route of a kind shares:
//! the authentication extractor (401, 403), path and query extractors (400), the JSON body
//! extractor (400, 413, 415, 422), the NUL check on every URL (422, see `crate::input`),
//! rate limits (429) and the store (503 while the database cannot be reached or written).
//! Listing them by hand on each route fell behind (171 codes were missing), so
//! [`ErrorResponses`] adds them from the route's shape instead, and a route added later
//! gets them without anyone remembering. A handler's own annotation still wins: a code it
//! lists keeps its description; codes specific to one route (409 on a duplicate…) stay in
//! that route's annotation.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// The `utoipa::Modify` pass; see the module documentation.
pub struct ErrorResponses;

/// What a route is, as far as its errors go.
#[derive(Debug, Default, Clone, Copy)]
struct Shape {
    authenticated: bool,
    path_params: bool,
    query_params: bool,
    body: bool,
    writes: bool,
    public: bool,
}

impl Shape {
    fn of(path: &str, method: &str, op: &Operation) -> Shape {
        let params = op.parameters.as_deref().unwrap_or_default();
        Shape {
            authenticated: op.security.as_ref().is_some_and(|reqs| {
                // An empty requirement (`{}`) means "no credentials needed".
                reqs.iter().any(|r| {
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_object().map(|o| !o.is_empty()))
                        .unwrap_or(false)
                })
            }),
            path_params: path.contains('{')
                || params.iter().any(|p| p.parameter_in == ParameterIn::Path),
            query_params: params.iter().any(|p| p.parameter_in == ParameterIn::Query),
            body: op.request_body.is_some(),
            writes: method != "get",
            public: path.starts_with("/public/") || path.starts_with("/auth/"),
        }
    }

    /// `(status, description)` of the error responses a route of this shape can give.
    fn codes(self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if self.path_params || self.query_params || self.body {
            out.push((
                "400",
                "Malformed request: a path parameter, the query string or the JSON body could not be read (`invalid_path`, `invalid_query`, `malformed_json`, `bad_request`)",
            ));
        }
        if self.authenticated {
            out.push((
                "401",
                "No valid `api_access_token` header or session (`unauthorized`)",
            ));
            out.push((
                "403",
                "Authenticated, but this user's role or inbox membership does not allow it (`forbidden`)",
            ));
        }
        if self.path_params {
            out.push((
                "404",
                "The account, resource or public credential does not exist or is not visible to the caller (`not_found`)",
            ));
        }
        if self.body {
            out.push((
                "413",
                "The request body is larger than the limit (`payload_too_large`)",
            ));
            out.push((
                "415",
                "The body is not declared as JSON (`unsupported_media_type`)",
            ));
        }
        out.push((
            "422",
            "A field failed validation (`invalid_field` with `field`, `invalid_request`), or text holds a NUL character (`invalid_characters`)",
        ));
        if self.public || self.writes {
            out.push((
                "429",
                "Too many requests from this client or for this account; try again later (`rate_limited`)",
            ));
        }
        out.push((
            "503",
            "The database cannot be reached or cannot write (disk full, read-only, connection lost): nothing was stored; retry later (`storage_unavailable`)",
        ));
        out
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
                ("head", &mut item.head),
                ("options", &mut item.options),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                for (status, description) in Shape::of(path, method, op).codes() {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_lists_the_errors_of_its_kind() {
        let (_, doc) = crate::api_parts();
        let doc = serde_json::to_value(&doc).expect("json");
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() > 20);
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("item") {
                let responses = op["responses"].as_object().expect("responses");
                let has = |c: &str| responses.contains_key(c);
                assert!(has("422") && has("503"), "{method} {path}");
                if op.get("requestBody").is_some() {
                    assert!(has("400") && has("413") && has("415"), "{method} {path}");
                }
                if path.starts_with("/api/v1/accounts/") {
                    assert!(has("401") && has("403") && has("404"), "{method} {path}");
                }
                for (code, r) in responses {
                    if code.starts_with('4') || code.starts_with('5') {
                        let schema = &r["content"]["application/json"]["schema"]["$ref"];
                        assert!(
                            r.get("content").is_none() || schema.is_string(),
                            "{method} {path} {code}: {r}"
                        );
                    }
                }
            }
        }
    }
}
