//! The binding's state, in plain Rust (no JavaScript types), so that it has
//! host-side unit tests: a core [`JobManager`] (held by the core scenario
//! [`Replayer`], so scenario lines run through the one replayer every runner
//! shares), the core events taken out of the manager (or handed back by the
//! replayer) but not yet handed to JavaScript, and the transcript of
//! everything that went through.
//!
//! The transcript is the scenario format's (scenarios/README.md): `> ` a
//! command, `! ` an event, `< ` a reply, `~ ` a directive. QMP commands sent
//! through [`Session::execute_value`] and followed by [`Session::settle`]
//! give exactly the lines the core replayer gives for the same scenario.

use qjob::scenario::{Replayer, reply_line, to_sorted_json};
use qjob::{Event, JobManager, JobVerb};
use serde_json::Value;
use std::collections::VecDeque;

/// A manager, its undelivered events and its transcript.
#[derive(Debug)]
pub struct Session {
    replayer: Replayer,
    /// Undelivered events taken out of the core, oldest first (all older
    /// than those still queued in the core); they cross into JavaScript as
    /// QMP JSON text (`{"timestamp", "event", "data"}`, one `JSON.parse`).
    /// With the transcript off, events stay in the core's queue until they
    /// are taken, and only the scenario replayer's (which takes them out of
    /// the core itself) and those queued at a snapshot come here.
    pending: VecDeque<Event>,
    lines: Vec<String>,
    /// Whether the transcript is kept (off: nothing accumulates).
    recording: bool,
    /// The text [`drain_events`](Self::drain_events) last wrote, kept so
    /// that its buffer is reused (no allocation per drain).
    out: String,
}

/// A drain buffer grown beyond this is given back rather than kept.
const OUT_KEEP: usize = 64 * 1024;

impl Default for Session {
    fn default() -> Self {
        Session::new(true)
    }
}

impl Session {
    /// A session over the default world (four 64 MiB `null-co` nodes:
    /// `src`, `dst`, `src2`, `dst2`) or, with `default_world` false, over an
    /// empty manager.
    pub fn new(default_world: bool) -> Session {
        Session::with_version(default_world, qjob::QemuVersion::V7_2)
    }

    /// A session whose manager reproduces QEMU `qemu`.
    pub fn with_version(default_world: bool, qemu: qjob::QemuVersion) -> Session {
        let mut replayer = Replayer::with_version(qemu);
        if !default_world {
            replayer.manager = JobManager::with_version(qemu);
        }
        Session {
            replayer,
            pending: VecDeque::new(),
            lines: Vec::new(),
            recording: true,
            out: String::new(),
        }
    }

    /// Keeps the transcript (the default) or not: a long-running library
    /// user that never reads it turns it off so that nothing accumulates.
    pub fn set_recording(&mut self, on: bool) {
        // Events emitted while it was off get no transcript lines.
        self.pump();
        self.recording = on;
    }

    /// Whether the transcript is kept.
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Adds a transcript line when the transcript is kept; the line is
    /// only written then (commands go through here on every call).
    fn line(&mut self, l: impl FnOnce() -> String) {
        if self.recording {
            self.lines.push(l());
        }
    }

    /// The core manager (getters).
    pub fn manager(&self) -> &JobManager {
        &self.replayer.manager
    }

    /// Runs `f` on the core manager, then, when the transcript is kept,
    /// takes the events it emitted (their lines follow the call's).
    pub fn with<R>(&mut self, f: impl FnOnce(&mut JobManager) -> R) -> R {
        let r = f(&mut self.replayer.manager);
        self.sync();
        r
    }

    /// Writes the transcript lines of the core's queued events when the
    /// transcript is kept (else the events wait in the core's queue: no
    /// second queue on the way to the caller).
    fn sync(&mut self) {
        if self.recording {
            self.pump();
        }
    }

    /// Moves the core's queued events into `pending` (with their
    /// transcript lines when the transcript is kept).
    fn pump(&mut self) {
        while let Some(e) = self.replayer.manager.poll_event() {
            self.line(|| qjob::scenario::event_line(&e));
            self.pending.push_back(e);
        }
    }

    /// Executes one QMP message given as a JSON value (QMP semantics: the
    /// reply is `{"return": …}` or `{"error": …}`, with the request's `id`).
    pub fn execute_value(&mut self, request: &Value) -> Value {
        self.sync();
        self.line(|| format!("> {}", to_sorted_json(request)));
        let reply = self.with(|m| m.execute_value(request));
        self.line(|| reply_line(&reply));
        reply
    }

    /// Executes one QMP message given as JSON text (framing and JSON errors
    /// answered as QEMU answers them); the transcript shows the text verbatim.
    pub fn execute_json(&mut self, request: &str) -> String {
        self.sync();
        self.line(|| format!("> {request}"));
        let reply = self.with(|m| m.execute_reply(request));
        self.line(|| reply_line(&reply.to_value()));
        reply.to_json()
    }

    /// Runs one line of a scenario through the core replayer (commands,
    /// `wait`, `wait-event`, `settle`, `send`, `image`, `machine`) and
    /// returns the transcript lines it produced. The events the replayer
    /// took from the manager are handed on as it hands them back: core
    /// events, with the core's timestamps.
    pub fn run_scenario_line(&mut self, line: &str) -> Result<Vec<String>, String> {
        self.pump();
        let before = self.replayer.lines().len();
        let events = self.replayer.run_line(line)?;
        self.pending.extend(events);
        let new: Vec<String> = self.replayer.lines()[before..].to_vec();
        if self.recording {
            self.lines.extend(new.iter().cloned());
        }
        Ok(new)
    }

    /// Runs all work ready at the current virtual instant (what QEMU does
    /// between two commands); returns the number of units run.
    pub fn settle(&mut self) -> usize {
        self.with(JobManager::settle)
    }

    /// The oldest undelivered event, as QMP JSON text.
    pub fn poll_event(&mut self) -> Option<String> {
        self.sync();
        match self.pending.pop_front() {
            Some(e) => Some(e.to_json()),
            None => self.replayer.manager.poll_event().map(|e| e.to_json()),
        }
    }

    /// The number of undelivered events.
    pub fn pending_len(&mut self) -> usize {
        self.sync();
        self.pending.len() + self.replayer.manager.pending_events()
    }

    /// Every undelivered event, oldest first, as the text of one JSON array.
    /// The text is written into a buffer the session keeps (valid until the
    /// next call), straight from the core's queue.
    pub fn drain_events(&mut self) -> &str {
        self.sync();
        let out = &mut self.out;
        if out.capacity() > OUT_KEEP {
            *out = String::new();
        }
        out.clear();
        out.push('[');
        let core = &mut self.replayer.manager;
        let mut first = true;
        let mut write = |e: &Event| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
            e.write_json(out);
        };
        for e in self.pending.drain(..) {
            write(&e);
        }
        // Written where they lie, then dropped together.
        for e in core.queued_events() {
            write(e);
        }
        core.clear_events();
        out.push(']');
        out
    }

    /// The transcript so far, each line ending in `\n`.
    pub fn transcript(&self) -> String {
        qjob::scenario::transcript_text(&self.lines)
    }

    /// The transcript lines so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Cuts the transcript back to its first `n` lines (going back in time).
    pub fn truncate_transcript(&mut self, n: usize) {
        self.lines.truncate(n);
    }

    /// The manager's state as the core's binary snapshot.
    pub fn snapshot(&mut self) -> Vec<u8> {
        self.pump();
        self.replayer.manager.to_snapshot_bytes()
    }

    /// Replaces the manager with a snapshot's; undelivered events are
    /// dropped, the transcript is kept. Refused (nothing changes) when the
    /// snapshot is invalid or of another version.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let m = JobManager::from_snapshot_bytes(bytes).map_err(|e| e.to_string())?;
        self.replace_manager(m);
        Ok(())
    }

    /// Replaces the manager (a fresh replayer around it: the restored state
    /// has no "since the last command" events for `wait`).
    pub fn replace_manager(&mut self, m: JobManager) {
        let mut r = Replayer::new();
        r.manager = m;
        self.replayer = r;
        self.pending.clear();
    }

    /// Why `verb` is refused for job `id` right now: `None` when there is no
    /// such job, `Some(None)` when the verb table allows it, else QEMU's
    /// refusal text (`Job 'X' in state 'S' cannot accept command verb 'V'`).
    pub fn verb_refusal(&self, id: &str, verb: JobVerb) -> Option<Option<String>> {
        Some(self.manager().verb_refusal(id, verb)?.err().map(|e| e.desc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BACKUP: &str = r#"{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 1}}"#;

    #[test]
    fn execute_and_settle_give_the_replayers_transcript() {
        let scenario = [
            BACKUP,
            r#"{"execute": "job-pause", "arguments": {"id": "b0"}}"#,
            r#"{"execute": "job-resume", "arguments": {"id": "b0"}}"#,
            r#"{"execute": "block-job-set-speed", "arguments": {"device": "b0", "speed": 0}}"#,
            r#"{"execute": "query-jobs"}"#,
        ];
        let mut s = Session::new(true);
        for line in scenario {
            let v: Value = serde_json::from_str(line).unwrap();
            s.execute_value(&v);
            s.settle();
        }
        let expected = qjob::scenario::replay(&scenario.join("\n")).unwrap();
        assert_eq!(s.transcript(), expected);
        let events: Vec<Value> = serde_json::from_str(s.drain_events()).unwrap();
        assert_eq!(events[0]["event"], "JOB_STATUS_CHANGE");
        assert_eq!(events[0]["data"], json!({"id": "b0", "status": "created"}));
        assert_eq!(events.last().unwrap()["data"]["status"], "null");
        assert!(s.poll_event().is_none());
    }

    #[test]
    fn without_a_transcript_events_are_drained_from_the_core_once() {
        let mut s = Session::new(true);
        s.set_recording(false);
        s.execute_json(BACKUP);
        s.settle();
        let events: Vec<Value> = serde_json::from_str(s.drain_events()).unwrap();
        let statuses: Vec<&Value> = events.iter().map(|e| &e["data"]["status"]).collect();
        assert_eq!(statuses, ["created", "running", "paused", "running"]);
        assert_eq!(s.pending_len(), 0);
        assert_eq!(s.drain_events(), "[]");
        s.execute_json(r#"{"execute": "job-pause", "arguments": {"id": "b0"}}"#);
        s.settle();
        let events: Vec<Value> = serde_json::from_str(s.drain_events()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["data"], json!({"id": "b0", "status": "paused"}));
        assert!(s.poll_event().is_none());
    }

    #[test]
    fn scenario_lines_run_through_the_core_replayer() {
        let mut s = Session::new(true);
        let fast = BACKUP.replace(r#", "speed": 1"#, "");
        let lines = s.run_scenario_line(&fast).unwrap();
        let sent: Value = serde_json::from_str(&fast).unwrap();
        assert_eq!(lines[0], format!("> {}", to_sorted_json(&sent)));
        let w = s
            .run_scenario_line(r#"{"wait": {"id": "b0", "status": "null"}}"#)
            .unwrap();
        assert!(!w.iter().any(|l| l == "~ WAIT TIMEOUT"));
        assert!(s.manager().query_jobs().is_empty());
        // The events are the core's, as the core replayer hands them back:
        // their own timestamps, `data` in QAPI order.
        let mut r = Replayer::new();
        let mut expected = Vec::new();
        for l in [fast.as_str(), r#"{"wait": {"id": "b0", "status": "null"}}"#] {
            expected.extend(r.run_line(l).unwrap().iter().map(Event::to_json));
        }
        assert_eq!(s.drain_events(), format!("[{}]", expected.join(",")));
        let ev: Vec<Value> = serde_json::from_str(&format!("[{}]", expected.join(","))).unwrap();
        assert!(ev.iter().any(|e| e["event"] == "BLOCK_JOB_COMPLETED"));
        assert!(s.run_scenario_line("not json").is_err());
        assert_eq!(
            s.run_scenario_line("# comment").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn verb_refusal_and_snapshots() {
        let mut s = Session::new(true);
        s.execute_json(BACKUP);
        s.settle();
        assert_eq!(s.verb_refusal("b0", JobVerb::Pause), Some(None));
        assert_eq!(
            s.verb_refusal("b0", JobVerb::Finalize),
            Some(Some(
                "Job 'b0' in state 'running' cannot accept command verb 'finalize'".into()
            ))
        );
        assert_eq!(s.verb_refusal("nope", JobVerb::Pause), None);
        let snap = s.snapshot();
        let n = s.lines().len();
        s.with(|m| m.job_cancel("b0")).unwrap();
        s.settle();
        assert!(s.manager().query_jobs().is_empty());
        s.restore(&snap).unwrap();
        s.truncate_transcript(n);
        assert_eq!(s.manager().query_jobs()[0].id, "b0");
        assert_eq!(s.lines().len(), n);
        assert!(s.restore(b"junk").is_err());
        assert_eq!(s.manager().query_jobs()[0].id, "b0");
    }

    #[test]
    fn recording_off_keeps_nothing() {
        let mut s = Session::new(true);
        s.set_recording(false);
        s.execute_json(BACKUP);
        s.settle();
        assert!(s.lines().is_empty());
        let ev: Vec<Value> = serde_json::from_str(s.drain_events()).unwrap();
        assert_eq!(ev.len(), 4);
        assert_eq!(s.drain_events(), "[]");
    }

    #[test]
    fn json_errors_keep_the_raw_text() {
        let mut s = Session::new(false);
        let r = s.execute_json("{");
        assert!(r.contains("GenericError"), "{r}");
        assert_eq!(s.lines()[0], "> {");
        assert!(s.lines()[1].starts_with("< {\"error\": "));
    }
}
