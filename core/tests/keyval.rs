//! Commands with arguments in QEMU's keyval form (`dispatch_keyval`), as a
//! command line gives them: every scalar a string, read as the member's
//! type. The texts are what qemu-storage-daemon 7.2.22 printed for the same
//! `--blockdev` options.

use qjob::JobManager;
use serde_json::{Map, Value, json};

fn args(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn add(m: &mut JobManager, v: Value) -> Result<Value, String> {
    m.dispatch_keyval("blockdev-add", &args(v))
        .map_err(|e| e.desc)
}

fn size_of(m: &JobManager, name: &str) -> u64 {
    m.named_nodes()
        .into_iter()
        .find(|n| n.name == name)
        .map(|n| n.size)
        .unwrap()
}

#[test]
fn strings_are_read_as_integers_and_booleans() {
    let mut m = JobManager::new();
    add(
        &mut m,
        json!({"driver": "null-co", "node-name": "hex", "size": "0x100000"}),
    )
    .unwrap();
    add(
        &mut m,
        json!({"driver": "null-co", "node-name": "oct", "size": "010"}),
    )
    .unwrap();
    add(
        &mut m,
        json!({"driver": "null-co", "node-name": "dec", "size": "1024", "read-zeroes": "yes"}),
    )
    .unwrap();
    assert_eq!(size_of(&m, "hex"), 1 << 20);
    assert_eq!(size_of(&m, "oct"), 8);
    assert_eq!(size_of(&m, "dec"), 1024);
}

#[test]
fn nested_structs_and_lists_are_keyval_too() {
    let mut m = JobManager::new();
    add(
        &mut m,
        json!({"driver": "null-co", "node-name": "base", "size": "65536"}),
    )
    .unwrap();
    add(
        &mut m,
        json!({"driver": "blkdebug", "node-name": "dbg", "image": "base",
               "inject-error": [{"event": "read_aio", "errno": "5", "once": "on"}]}),
    )
    .unwrap();
    let e = add(
        &mut m,
        json!({"driver": "blkdebug", "node-name": "dbg2", "image": "base",
               "inject-error": [{"event": "read_aio", "once": "maybe"}]}),
    )
    .unwrap_err();
    assert_eq!(e, "Parameter 'inject-error.0.once' expects 'on' or 'off'");
}

#[test]
fn refusals_are_qemus() {
    let mut m = JobManager::new();
    let cases = [
        (
            json!({"driver": "null-co", "node-name": "n", "size": "foo"}),
            "Parameter 'size' expects integer",
        ),
        (
            json!({"driver": "null-co", "node-name": "n", "size": "1M"}),
            "Parameter 'size' expects integer",
        ),
        (
            json!({"driver": "null-co", "node-name": "n", "size": "5 "}),
            "Parameter 'size' expects integer",
        ),
        (
            json!({"driver": "null-co", "node-name": "n", "size": "99999999999999999999"}),
            "Parameter 'size' expects integer",
        ),
        (
            json!({"driver": "null-co", "node-name": "n", "read-zeroes": "maybe"}),
            "Parameter 'read-zeroes' expects 'on' or 'off'",
        ),
        (
            json!({"driver": "null-co", "node-name": "n", "size": {"x": "1"}}),
            "Parameters 'size.*' are unexpected",
        ),
        (
            json!({"driver": "null-co", "node-name": "n", "bogus": "1"}),
            "Parameter 'bogus' is unexpected",
        ),
    ];
    for (v, want) in cases {
        assert_eq!(add(&mut m, v.clone()).unwrap_err(), want, "{v}");
    }
    assert!(m.named_nodes().is_empty());
}

#[test]
fn the_json_form_still_wants_json_types() {
    let mut m = JobManager::new();
    let e = m
        .dispatch(
            "blockdev-add",
            &args(json!({"driver": "null-co", "node-name": "a", "size": "1"})),
        )
        .unwrap_err();
    assert_eq!(
        e.desc,
        "Invalid parameter type for 'size', expected: integer"
    );
}
