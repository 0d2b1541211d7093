//! QEMU's keyval syntax (`keyval_parse`): `key=value,...` read into nested
//! JSON objects whose scalars are all strings.
//!
//! A key is a dotted path: `file.driver=file` sets member `driver` of the
//! object `file`; a path fragment that is a number makes the object a list
//! (`inject-error.0.event=...`). A first item without `=` is the value of
//! the implied key, when there is one (`--blockdev null-co,...` is
//! `driver=null-co`); `help` or `?` there asks for help. A repeated key
//! takes the last value. [`parse_str`] also takes the JSON form
//! (`{"driver": "null-co", ...}`) where QEMU does, for an argument starting
//! with `{`.

use serde_json::{Map, Value};

use super::qemuopts::is_help;

/// What [`parse`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyval {
    /// The options as nested objects (and lists), every scalar a string.
    pub map: Map<String, Value>,
    /// A `help` item was given.
    pub help: bool,
}

/// A QAPI name as `keyval_parse` accepts a key fragment: a letter, then
/// letters, digits, `-`, `_` (and `.` ends the fragment); its length, or 0.
fn qapi_name_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_alphabetic()) {
        return 0;
    }
    b.iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_'))
        .unwrap_or(b.len())
}

/// A list index fragment: digits; its length and value (an index beyond
/// `i32::MAX` reads as `i32::MAX`, as QEMU's does).
fn index_len(s: &str) -> Option<(usize, usize)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let v = s[..n]
        .parse::<u64>()
        .map_or(i32::MAX as usize, |v| v.min(i32::MAX as u64) as usize);
    Some((n, v))
}

/// Puts `value` (a string, or `None` for a sub-object) at `key_in_cur` of
/// `cur`: refuses a path used both as a scalar and as an object.
fn put<'m>(
    cur: &'m mut Map<String, Value>,
    key_in_cur: &str,
    value: Option<String>,
    used: &str,
) -> Result<&'m mut Value, String> {
    let wants_string = value.is_some();
    match cur.get(key_in_cur) {
        Some(old) if old.is_string() != wants_string => {
            return Err(format!("Parameters '{used}.*' used inconsistently"));
        }
        Some(_) if !wants_string => {}
        _ => {
            let v = match value {
                Some(s) => Value::String(s),
                None => Value::Object(Map::new()),
            };
            cur.insert(key_in_cur.to_owned(), v);
        }
    }
    Ok(cur.get_mut(key_in_cur).expect("just inserted"))
}

/// One item (`keyval_parse_one`); returns the rest of the text.
fn parse_one<'a>(
    map: &mut Map<String, Value>,
    params: &'a str,
    implied: Option<&str>,
    help: &mut bool,
) -> Result<&'a str, String> {
    let len = params.find(['=', ',']).unwrap_or(params.len());
    let mut key: &str = params;
    let mut key_len = len;
    let mut implied_value: Option<(&str, &str)> = None;
    if len > 0 && !params[len..].starts_with('=') {
        if is_help(&params[..len]) {
            *help = true;
            let rest = &params[len..];
            return Ok(rest.strip_prefix(',').unwrap_or(rest));
        }
        if let Some(k) = implied {
            implied_value = Some((&params[..len], &params[len..]));
            key = k;
            key_len = k.len();
        }
    }
    let key_text = &key[..key_len];
    // Walk the key's fragments: each but the last names a sub-object.
    let mut cur: &mut Map<String, Value> = map;
    let mut pos = 0;
    let mut fragment;
    loop {
        let s = &key_text[pos..];
        let flen = match (pos > 0).then(|| index_len(s)).flatten() {
            Some((n, _)) => n,
            None => qapi_name_len(s),
        };
        if flen == 0 || (flen < s.len() && !s[flen..].starts_with('.')) {
            return Err(format!("Invalid parameter '{key_text}'"));
        }
        if flen >= 128 {
            let whole = pos == 0 && flen == key_text.len();
            return Err(format!(
                "Parameter{} '{}' is too long",
                if whole { "" } else { " fragment" },
                &s[..flen]
            ));
        }
        fragment = &s[..flen];
        pos += flen;
        if pos >= key_text.len() {
            break;
        }
        let used = &key_text[..pos];
        let next = put(cur, fragment, None, used)?;
        cur = next.as_object_mut().expect("an object");
        pos += 1; // the '.'
    }
    let (value, rest) = match implied_value {
        Some((v, rest)) => (v.to_owned(), rest.strip_prefix(',').unwrap_or(rest)),
        None => {
            let after = &params[key_len..];
            let Some(mut s) = after.strip_prefix('=') else {
                return Err(format!("Expected '=' after parameter '{key_text}'"));
            };
            let mut v = String::new();
            loop {
                match s.find(',') {
                    None => {
                        v.push_str(s);
                        s = "";
                        break;
                    }
                    Some(i) if s[i + 1..].starts_with(',') => {
                        v.push_str(&s[..=i]);
                        s = &s[i + 2..];
                    }
                    Some(i) => {
                        v.push_str(&s[..i]);
                        s = &s[i + 1..];
                        break;
                    }
                }
            }
            (v, s)
        }
    };
    put(cur, fragment, Some(value), key_text)?;
    Ok(rest)
}

/// Turns objects whose keys are all numbers into lists (`keyval_listify`),
/// refusing a mix and a missing index with QEMU's texts.
fn listify(v: &mut Value, path: &str) -> Result<(), String> {
    let Value::Object(m) = v else {
        return Ok(());
    };
    for (k, child) in m.iter_mut() {
        listify(child, &format!("{path}{k}."))?;
    }
    let indexed = m
        .keys()
        .filter(|k| index_len(k).is_some_and(|(n, _)| n == k.len()));
    let n_indexed = indexed.count();
    if n_indexed == 0 {
        return Ok(());
    }
    if n_indexed != m.len() {
        return Err(format!("Parameters '{path}*' used inconsistently"));
    }
    let mut elems: Vec<Option<Value>> = vec![None; m.len()];
    let mut max = 0;
    for (k, child) in std::mem::take(m) {
        let (_, i) = index_len(&k).expect("an index");
        max = max.max(i + 1);
        if i < elems.len() {
            elems[i] = Some(child);
        }
    }
    let mut list = Vec::new();
    for (i, e) in elems.into_iter().enumerate().take(max) {
        match e {
            Some(e) => list.push(e),
            None => return Err(format!("Parameter '{path}{i}' missing")),
        }
    }
    if max > list.len() {
        return Err(format!("Parameter '{path}{}' missing", list.len()));
    }
    *v = Value::Array(list);
    Ok(())
}

/// `keyval_parse(params, implied, &help)`.
pub fn parse(params: &str, implied: Option<&str>) -> Result<Keyval, String> {
    let mut map = Map::new();
    let mut help = false;
    let mut s = params;
    let mut implied = implied;
    while !s.is_empty() {
        s = parse_one(&mut map, s, implied, &mut help)?;
        implied = None;
    }
    let mut v = Value::Object(map);
    listify(&mut v, "")?;
    let Value::Object(map) = v else {
        unreachable!("the top level has no index keys")
    };
    Ok(Keyval { map, help })
}

/// An option's arguments as QEMU's `qobject_input_visitor_new_str` reads
/// them: JSON when the text starts with `{` (QEMU's JSON dialect), else
/// keyval with `implied` as the implied key. Returns the object and
/// whether it is in keyval form (scalars as strings, for
/// `JobManager::dispatch_keyval`). `help` is refused here, as QEMU refuses
/// it where help is not offered.
pub fn parse_str(text: &str, implied: Option<&str>) -> Result<(Map<String, Value>, bool), String> {
    if text.starts_with('{') {
        return from_json(text).map(|m| (m, false));
    }
    let kv = parse(text, implied)?;
    if kv.help {
        return Err("Help is not available for this option".into());
    }
    Ok((kv.map, true))
}

/// `qobject_from_json`: one JSON object in QEMU's dialect, read by
/// QEMU's JSON streamer (so anything after it is `Expecting at most one
/// JSON value`).
fn from_json(text: &str) -> Result<Map<String, Value>, String> {
    let mut streamer = qjob::qmp::stream::JsonStreamer::new();
    let mut messages = streamer.feed(text.as_bytes());
    messages.extend(streamer.flush());
    let mut messages = messages.into_iter();
    let first = messages
        .next()
        .unwrap_or_else(|| Err("Expecting a JSON value".into()))?;
    if messages.next().is_some() {
        return Err("Expecting at most one JSON value".into());
    }
    match first {
        Value::Object(m) => Ok(m),
        _ => unreachable!("text starting with '{{' is an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(p: &str, implied: Option<&str>) -> Value {
        Value::Object(parse(p, implied).unwrap().map)
    }

    #[test]
    fn nested_objects_lists_and_the_implied_key() {
        assert_eq!(
            kv(
                "qcow2,node-name=a,file.driver=file,file.filename=/x,,y",
                Some("driver")
            ),
            json!({"driver": "qcow2", "node-name": "a", "file": {"driver": "file", "filename": "/x,y"}})
        );
        assert_eq!(
            kv(
                "blkdebug,inject-error.0.event=read_aio,inject-error.1.event=flush",
                Some("driver")
            ),
            json!({"driver": "blkdebug", "inject-error": [{"event": "read_aio"}, {"event": "flush"}]})
        );
        assert_eq!(kv("size=1,size=2", None), json!({"size": "2"}));
        assert_eq!(kv("", Some("driver")), json!({}));
    }

    #[test]
    fn refusals_are_qemus() {
        // Texts qemu-storage-daemon 7.2.22 printed for these --blockdev options.
        let e = |p: &str| parse(p, Some("driver")).unwrap_err();
        assert_eq!(e("null-co,a..b=1"), "Invalid parameter 'a..b'");
        assert_eq!(e("null-co,.x=1"), "Invalid parameter '.x'");
        assert_eq!(e("null-co,size"), "Expected '=' after parameter 'size'");
        assert_eq!(
            e("null-co,node-name=a,node-name.x=1"),
            "Parameters 'node-name.*' used inconsistently"
        );
        assert_eq!(
            e("blkdebug,inject-error.1.event=read_aio"),
            "Parameter 'inject-error.0' missing"
        );
        assert_eq!(e("x,a.0=1,a.b=2"), "Parameters 'a.*' used inconsistently");
    }

    #[test]
    fn help_and_json() {
        assert!(parse("help", Some("driver")).unwrap().help);
        assert!(parse("null-co,help", Some("driver")).unwrap().help);
        let (m, keyval) = parse_str(r#"{"driver": "null-co", "size": 1}"#, Some("driver")).unwrap();
        assert!(!keyval);
        assert_eq!(Value::Object(m), json!({"driver": "null-co", "size": 1}));
        assert_eq!(
            parse_str("null-co,help", Some("driver")).unwrap_err(),
            "Help is not available for this option"
        );
        assert_eq!(
            parse_str(r#"{"driver": "null-co""#, None).unwrap_err(),
            "JSON parse error, premature EOI"
        );
        for extra in [r#"{"driver": "null-co"}}"#, r#"{"driver": "null-co"} x"#] {
            assert_eq!(
                parse_str(extra, None).unwrap_err(),
                "Expecting at most one JSON value"
            );
        }
        let (m, _) = parse_str("{'driver': 'null-co'}", None).unwrap();
        assert_eq!(m["driver"], "null-co");
    }
}
