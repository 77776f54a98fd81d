//! Integer ids in request bodies, read the way Chatwoot's Rails controllers read them: a
//! JSON number, or a string of digits (`"1"`). Chatwoot's published schemas type several
//! ids as strings (`inbox_id` of the inbox member requests, the Client API's ids) and its
//! own dashboard sends some ids as strings, so clients written against either form work
//! unchanged. Only a string that is a whole integer passes; anything else (`"abc"`, `"1.5"`,
//! `true`) is the usual 422.
//!
//! Use with `#[serde(deserialize_with = "…")]` (plus `default` for the optional forms) and
//! keep the field's `#[schema(value_type = …)]` an integer: the document still says what
//! Parley answers with.

use serde::{Deserialize, Deserializer};

/// An id as a number or as a string of digits.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdLike {
    Num(i64),
    Text(String),
}

impl IdLike {
    fn into_id<E: serde::de::Error>(self) -> Result<i64, E> {
        match self {
            IdLike::Num(n) => Ok(n),
            IdLike::Text(s) => {
                let t = s.trim();
                // Digits only (an optional leading minus, as a number could carry): no
                // `+1`, no blanks inside, no exponent.
                let digits = t.strip_prefix('-').unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom(format!(
                        "expected an integer id (a number or a string of digits), got {s:?}"
                    )));
                }
                t.parse()
                    .map_err(|_| E::custom("expected an integer id within range"))
            }
        }
    }
}

/// A required id: `1` or `"1"`.
pub fn id_like<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    IdLike::deserialize(d)?.into_id()
}

/// An optional id: absent or `null` is `None`, else as [`id_like`]. Pair with
/// `#[serde(default)]`.
pub fn opt_id_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<IdLike>::deserialize(d)?
        .map(IdLike::into_id)
        .transpose()
}

/// An id whose explicit `null` means "clear it": absent is `None` (pair with
/// `#[serde(default)]`), `null` is `Some(None)`, else `Some(Some(id))`.
pub fn present_id_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    opt_id_like(d).map(Some)
}

/// A list of ids, each a number or a string of digits.
pub fn ids_like<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "id_like")] i64);
    Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
}

/// An optional list of ids (pair with `#[serde(default)]`).
pub fn opt_ids_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "id_like")] i64);
    Ok(Option::<Vec<W>>::deserialize(d)?.map(|v| v.into_iter().map(|w| w.0).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct B {
        #[serde(deserialize_with = "id_like")]
        a: i64,
        #[serde(default, deserialize_with = "opt_id_like")]
        b: Option<i64>,
        #[serde(default, deserialize_with = "present_id_like")]
        c: Option<Option<i64>>,
        #[serde(default, deserialize_with = "opt_ids_like")]
        d: Option<Vec<i64>>,
    }

    fn parse(v: serde_json::Value) -> Result<B, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn numbers_and_digit_strings_pass() {
        let b =
            parse(serde_json::json!({"a": "7", "b": 8, "c": null, "d": ["1", 2]})).expect("ids");
        assert_eq!(
            (b.a, b.b, b.c, b.d),
            (7, Some(8), Some(None), Some(vec![1, 2]))
        );
        let b = parse(serde_json::json!({"a": 7})).expect("ids");
        assert_eq!((b.b, b.c, b.d), (None, None, None));
        let b = parse(serde_json::json!({"a": 1, "c": "3"})).expect("ids");
        assert_eq!(b.c, Some(Some(3)));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            serde_json::json!("abc"),
            serde_json::json!("1.5"),
            serde_json::json!("+1"),
            serde_json::json!(""),
            serde_json::json!("1 2"),
            serde_json::json!(true),
            serde_json::json!(1.5),
            serde_json::json!("99999999999999999999"),
        ] {
            assert!(parse(serde_json::json!({"a": bad})).is_err(), "{bad}");
        }
    }
}
