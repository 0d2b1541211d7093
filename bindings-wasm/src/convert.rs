//! Conversions between JavaScript and the core, in one place: values (JSON
//! values ⇄ plain JS objects, as JSON text), errors (a refused command is a
//! thrown `QmpError`), and arguments.
//!
//! Every argument a method takes is checked before the core is called: a
//! value of the wrong kind is a `TypeError` whose message names the
//! argument, and nothing changes. Arguments arrive as `JsValue`s checked
//! here, except plain strings: those are `&str` parameters (wasm-bindgen
//! copies the text in directly, a third of the price of a `JsValue` read
//! back with `as_string`), which the package's entry points check before
//! the call (`js/arguments.mjs`: a `&str` parameter given something else
//! would be read from arbitrary memory).
//! Options objects refuse keys they do not know, so that a misspelt option
//! is not ignored.

use js_sys::{Array, Reflect};
use qjob::JobVerb;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `JSON.stringify(v)` with its text copied straight into WebAssembly
    /// memory (one crossing; `undefined` for a value it skips, an exception
    /// for a cycle or a `BigInt`).
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = stringify)]
    fn stringify(v: &JsValue) -> Result<Option<String>, JsValue>;
    /// `Array.isArray`, catching: it throws for a revoked `Proxy`, and an
    /// exception must not pass through the binding (the manager would stay
    /// borrowed).
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn is_array(v: &JsValue) -> Result<bool, JsValue>;
    /// `Object.keys`, catching (a `Proxy` trap may throw).
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(v: &JsValue) -> Result<Array, JsValue>;
}

// ----------------------------------------------------------------------
// Values
// ----------------------------------------------------------------------

/// A JSON value as a plain JS value (objects, not `Map`s; key order kept;
/// a number beyond 2^53 becomes the nearest double).
pub(crate) fn to_js(v: &Value) -> JsValue {
    json_to_js(&qjob::qmp::json::to_text(v))
}

/// JSON text as a plain JS value. Values cross the boundary as text: one
/// `JSON.parse` is far cheaper than building an object property by property
/// from WebAssembly.
pub(crate) fn json_to_js(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or(JsValue::NULL)
}

/// A plain JS value as a JSON value (integers stay integers), through
/// `JSON.stringify`; a value JSON cannot hold (`undefined`, a function, a
/// `BigInt`, a cycle) is a `TypeError`.
pub(crate) fn from_js(v: &JsValue) -> Result<Value, JsValue> {
    let text = stringify(v)
        .map_err(|e| type_error(&js_error_text(&e, "a value JSON cannot represent")))?
        .ok_or_else(|| type_error("a value JSON cannot represent (undefined or a function)"))?;
    qjob::qmp::json::parse_strict(&text).map_err(|e| type_error(&e))
}

/// A JSON array of values as a JS array.
pub(crate) fn array_of(values: impl IntoIterator<Item = Value>) -> JsValue {
    to_js(&Value::Array(values.into_iter().collect()))
}

/// The message of a thrown JS error (or `fallback`).
fn js_error_text(e: &JsValue, fallback: &str) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| fallback.to_owned())
}

// ----------------------------------------------------------------------
// Errors
// ----------------------------------------------------------------------

/// A JS `TypeError` (a malformed argument).
pub(crate) fn type_error(msg: &str) -> JsValue {
    js_sys::TypeError::new(msg).into()
}

/// A refused command as a thrown JS `Error` named `QmpError`, with `class`
/// (`GenericError`, `CommandNotFound`, `DeviceNotActive`, `DeviceNotFound`)
/// and `desc` (QEMU's text, also the message).
pub(crate) fn qmp_error(e: &qjob::Error) -> JsValue {
    let err = js_sys::Error::new(&e.desc);
    err.set_name("QmpError");
    let _ = Reflect::set(&err, &"class".into(), &e.class.as_str().into());
    let _ = Reflect::set(&err, &"desc".into(), &e.desc.as_str().into());
    err.into()
}

/// A core result with nothing to return, its error thrown as a `QmpError`.
pub(crate) fn unit(r: qjob::Result<()>) -> Result<(), JsValue> {
    r.map_err(|e| qmp_error(&e))
}

// ----------------------------------------------------------------------
// Arguments (each a TypeError naming the argument when malformed)
// ----------------------------------------------------------------------

/// `Number.MAX_SAFE_INTEGER` (2^53 - 1): up to it, every integer is a JS
/// number exactly.
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// An integer number (no BigInt, no string) within `[min, max]`.
pub(crate) fn integer(v: &JsValue, min: f64, max: f64) -> Option<f64> {
    v.as_f64()
        .filter(|x| x.fract() == 0.0 && *x >= min && *x <= max)
}

/// A non-negative safe integer (progress, bytes, virtual nanoseconds, a
/// count of lines).
pub(crate) fn count(v: &JsValue, what: &str) -> Result<u64, JsValue> {
    integer(v, 0.0, MAX_SAFE_INTEGER)
        .map(|x| x as u64)
        .ok_or_else(|| type_error(&format!("{what} must be a non-negative safe integer")))
}

/// A safe integer of either sign (a speed, whose sign the core checks).
pub(crate) fn safe_integer(v: &JsValue, what: &str) -> Result<i64, JsValue> {
    integer(v, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
        .map(|x| x as i64)
        .ok_or_else(|| type_error(&format!("{what} must be a safe integer")))
}

/// A 32-bit integer (`errno`, `ret`); `undefined` gives `default`.
pub(crate) fn int32(v: &JsValue, what: &str, default: Option<i32>) -> Result<i32, JsValue> {
    if let (true, Some(d)) = (v.is_undefined(), default) {
        return Ok(d);
    }
    integer(v, f64::from(i32::MIN), f64::from(i32::MAX))
        .map(|x| x as i32)
        .ok_or_else(|| type_error(&format!("{what} must be a 32-bit integer")))
}

/// A string.
pub(crate) fn string(v: &JsValue, what: &str) -> Result<String, JsValue> {
    v.as_string()
        .ok_or_else(|| type_error(&format!("{what} must be a string")))
}

/// A boolean.
pub(crate) fn boolean(v: &JsValue, what: &str) -> Result<bool, JsValue> {
    v.as_bool()
        .ok_or_else(|| type_error(&format!("{what} must be a boolean")))
}

/// A boolean, `undefined` giving `default`.
pub(crate) fn boolean_or(v: &JsValue, what: &str, default: bool) -> Result<bool, JsValue> {
    if v.is_undefined() {
        Ok(default)
    } else {
        boolean(v, what)
    }
}

/// The `TypeError` for a string that is none of the names `all`.
pub(crate) fn not_one_of<'a>(
    what: &str,
    got: &str,
    all: impl IntoIterator<Item = &'a str>,
) -> JsValue {
    let all: Vec<&str> = all.into_iter().collect();
    type_error(&format!(
        "{what} must be one of '{}', not '{got}'",
        all.join("', '")
    ))
}

/// A QAPI enum value by its name (`"pause"`, `"set-speed"`, `"report"`, …).
pub(crate) fn qapi_name<T: std::str::FromStr + Copy>(
    v: &JsValue,
    what: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, JsValue> {
    qapi_str(&string(v, what)?, what, all, name)
}

/// A QAPI enum value by its name, from a string argument.
fn qapi_str<T: std::str::FromStr + Copy>(
    s: &str,
    what: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, JsValue> {
    s.parse()
        .map_err(|_| not_one_of(what, s, all.iter().map(|&x| name(x))))
}

/// A verb name (`"pause"`, `"set-speed"`, …).
pub(crate) fn verb(s: &str) -> Result<JobVerb, JsValue> {
    qapi_str(s, "verb", JobVerb::ALL, JobVerb::as_str)
}

/// A `Uint8Array`'s bytes.
pub(crate) fn bytes(v: &JsValue, what: &str) -> Result<Vec<u8>, JsValue> {
    v.dyn_ref::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .ok_or_else(|| type_error(&format!("{what} must be a Uint8Array")))
}

/// Whether `v` is a plain object argument (not `null`, not an array, not a
/// function, not a primitive); a revoked `Proxy` is a `TypeError` naming
/// the argument.
fn is_object(v: &JsValue, what: &str) -> Result<bool, JsValue> {
    let array = is_array(v).map_err(|e| {
        type_error(&format!(
            "{what} must be an object: {}",
            js_error_text(&e, "unreadable")
        ))
    })?;
    Ok(v.is_object() && !array)
}

/// A JSON object (QMP arguments, a command): its members.
pub(crate) fn object(v: &JsValue, what: &str) -> Result<Map<String, Value>, JsValue> {
    if !is_object(v, what)? {
        return Err(type_error(&format!("{what} must be an object")));
    }
    match from_js(v)? {
        Value::Object(m) => Ok(m),
        _ => Err(type_error(&format!("{what} must be an object"))),
    }
}

/// Reads an options object (`undefined` or `null`: no options): calls `f`
/// with each key whose value is not `undefined`; `f` answers `Ok(false)` for
/// a key it does not know, which is refused with the list of `known` keys.
pub(crate) fn options(
    v: &JsValue,
    what: &str,
    known: &[&str],
    mut f: impl FnMut(&str, JsValue) -> Result<bool, JsValue>,
) -> Result<(), JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(());
    }
    if !is_object(v, what)? {
        return Err(type_error(&format!("{what}s must be an object")));
    }
    let unreadable = |e: JsValue| {
        type_error(&format!(
            "{what}s must be readable: {}",
            js_error_text(&e, "unreadable")
        ))
    };
    for key in object_keys(v).map_err(unreadable)?.iter() {
        let name = key.as_string().unwrap_or_default();
        let value = Reflect::get(v, &key).map_err(unreadable)?;
        if value.is_undefined() {
            continue;
        }
        if !f(&name, value)? {
            return Err(type_error(&format!(
                "unknown {what} '{name}' (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}
