//! The reply to a QMP message, typed: what [`JobManager::execute_reply`]
//! gives, and what [`JobManager::execute`] writes as JSON.
//!
//! [`JobManager::execute_reply`]: crate::JobManager::execute_reply
//! [`JobManager::execute`]: crate::JobManager::execute

use crate::error::Error;
use crate::event::write_json_str;
use serde_json::{Map, Value};

/// The reply to one QMP message: the request's `id` and the command's
/// `return` value or its error. A binding reads the error's class and text
/// from here instead of from the reply's JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The request's `id`, echoed when the message was a JSON object that
    /// had one.
    pub id: Option<Value>,
    /// The command's `return` value, or why it was refused.
    pub result: Result<Value, Error>,
}

impl Reply {
    /// A reply to a message that could not be read (no `id` to echo).
    pub fn refused(error: Error) -> Reply {
        Reply {
            id: None,
            result: Err(error),
        }
    }

    /// The error, for an error reply.
    pub fn error(&self) -> Option<&Error> {
        self.result.as_ref().err()
    }

    /// The reply as QMP sends it: `{"return": …}` or
    /// `{"error": {"class": …, "desc": …}}`, then `"id"` when there is one.
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// [`to_value`](Self::to_value), consuming the reply.
    pub fn into_value(self) -> Value {
        let mut m = Map::new();
        match self.result {
            Ok(v) => {
                m.insert("return".into(), v);
            }
            Err(e) => {
                let mut err = Map::new();
                err.insert("class".into(), e.class.as_str().into());
                err.insert("desc".into(), e.desc.into());
                m.insert("error".into(), Value::Object(err));
            }
        }
        if let Some(id) = self.id {
            m.insert("id".into(), id);
        }
        Value::Object(m)
    }

    /// [`to_value`](Self::to_value) as compact JSON text (as `serde_json`
    /// writes it), written directly.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(32);
        self.write_json(&mut out);
        out
    }

    /// Appends [`to_json`](Self::to_json)'s text to `out`.
    pub fn write_json(&self, out: &mut String) {
        match &self.result {
            Ok(v) => {
                out.push_str("{\"return\":");
                match v {
                    Value::Object(m) if m.is_empty() => out.push_str("{}"),
                    v => super::json::write_text(out, v),
                }
            }
            Err(e) => {
                out.push_str("{\"error\":{\"class\":\"");
                out.push_str(e.class.as_str());
                out.push_str("\",\"desc\":");
                write_json_str(out, &e.desc);
                out.push('}');
            }
        }
        if let Some(id) = &self.id {
            out.push_str(",\"id\":");
            super::json::write_text(out, id);
        }
        out.push('}');
    }
}

impl From<Reply> for Value {
    fn from(r: Reply) -> Value {
        r.into_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;
    use serde_json::json;

    #[test]
    fn the_text_is_the_value_s() {
        let replies = [
            Reply {
                id: None,
                result: Ok(json!({})),
            },
            Reply {
                id: Some(json!("a\"b")),
                result: Ok(json!([{"id": "x", "n": 1.5, "e": null}])),
            },
            Reply {
                id: Some(json!({"k": [1, 2]})),
                result: Err(Error::generic("odd \"text\"\n\u{1}\u{7f}é")),
            },
            Reply::refused(Error {
                class: ErrorClass::CommandNotFound,
                desc: "The command x has not been found".into(),
            }),
        ];
        for r in replies {
            assert_eq!(r.to_json(), r.to_value().to_string());
            assert_eq!(r.error(), r.result.as_ref().err());
        }
    }
}
