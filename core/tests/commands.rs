//! `query-commands`: qjob lists the commands it has, in the order QEMU 7.2
//! lists them. `qemu72/query-commands.*.txt` hold QEMU 7.2.22's whole
//! answers (`qemu-storage-daemon`, `qemu-system-x86_64 -machine none`), one
//! name a line.

use qjob::JobManager;
use serde_json::Value;

fn listed(machine: bool) -> Vec<String> {
    let mut m = JobManager::new();
    m.set_machine(machine);
    let reply: Value =
        serde_json::from_str(&m.execute(r#"{"execute": "query-commands"}"#)).unwrap();
    reply["return"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c.as_object().unwrap().len(), 1, "{c}");
            c["name"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn check(machine: bool, qemu: &str) {
    let qemu: Vec<&str> = qemu.lines().collect();
    let ours = listed(machine);
    let (own, theirs): (Vec<&String>, Vec<&String>) =
        ours.iter().partition(|n| n.starts_with("x-qjob-"));
    // qjob's own commands come last.
    assert!(ours.ends_with(&own.iter().map(|s| (*s).clone()).collect::<Vec<_>>()));
    // The rest are QEMU's, in QEMU's order.
    let mut at = 0;
    for name in &theirs {
        let i = qemu[at..]
            .iter()
            .position(|q| q == name)
            .unwrap_or_else(|| panic!("{name} is not in QEMU's list after position {at}"));
        at += i + 1;
    }
    // Every command listed answers (it is not "not found").
    let mut m = JobManager::new();
    m.set_machine(machine);
    for name in &ours {
        let reply = m.execute(&format!(
            r#"{{"execute": "{name}", "arguments": {{"x-no": 1}}}}"#
        ));
        assert!(!reply.contains("CommandNotFound"), "{name}: {reply}");
    }
}

#[test]
fn the_storage_daemon_lists_its_commands_in_qemu_s_order() {
    check(
        false,
        include_str!("qemu72/query-commands.storage-daemon.txt"),
    );
    let names = listed(false);
    for vm_only in ["query-status", "stop", "cont", "snapshot-save"] {
        assert!(!names.iter().any(|n| n == vm_only), "{vm_only}");
    }
}

#[test]
fn a_system_emulator_lists_its_commands_in_qemu_s_order() {
    check(true, include_str!("qemu72/query-commands.system.txt"));
    let names = listed(true);
    for vm_only in ["query-status", "stop", "cont", "snapshot-save"] {
        assert!(names.iter().any(|n| n == vm_only), "{vm_only}");
    }
}
