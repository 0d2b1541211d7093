//! Serde adapter for JSON values kept inside the manager (a node's options
//! as given): the JSON snapshot holds them as they are; the binary form,
//! which has no types of its own, holds each as its JSON text.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Writes the named values (as JSON text when the format is binary).
pub(crate) fn serialize<S: Serializer>(v: &[(String, Value)], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        return v.serialize(s);
    }
    let text: Vec<(&str, String)> = v
        .iter()
        .map(|(k, v)| (k.as_str(), crate::qmp::json::to_text(v)))
        .collect();
    text.serialize(s)
}

/// Reads what [`serialize`] wrote.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, Value)>, D::Error> {
    if d.is_human_readable() {
        return Vec::deserialize(d);
    }
    Vec::<(String, String)>::deserialize(d)?
        .into_iter()
        .map(|(k, t)| {
            // The core's own reader (already linked for QMP), not serde_json's:
            // one JSON reader fewer in a WebAssembly module. `t` is what
            // serde_json wrote, which both read alike.
            crate::qmp::json::parse_strict(&t)
                .map(|v| (k, v))
                .map_err(|e| D::Error::custom(format_args!("an option's JSON: {e}")))
        })
        .collect()
}
