//! The smallest useful module over the core: QMP text in, reply text out,
//! `settle`, and the events as a JSON array — no typed methods, snapshots,
//! scenario replayer or host-driven jobs. `bench/size.sh` builds it with the
//! package's size settings to show how much of the module's size is the
//! core's own lifecycle and QMP layer, whatever the binding adds around it.
//!
//! `cargo build --release -p qjob-wasm --example size_floor --target wasm32-unknown-unknown`

use qjob::JobManager;
use wasm_bindgen::prelude::*;

/// A manager of the default world, driven through QMP text only.
#[wasm_bindgen]
pub struct Floor(JobManager);

#[wasm_bindgen]
impl Floor {
    /// A manager of the default world (four 64 MiB nodes, no jobs).
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Floor {
        Floor(JobManager::with_default_world())
    }

    /// Executes one QMP message; returns the reply.
    pub fn execute(&mut self, request: &str) -> String {
        self.0.execute(request)
    }

    /// Runs all work due at the current virtual instant.
    pub fn settle(&mut self) {
        self.0.settle();
    }

    /// The queued events as a JSON array of QMP events.
    #[wasm_bindgen(js_name = drainEvents)]
    pub fn drain_events(&mut self) -> String {
        let mut out = String::from("[");
        while let Some(e) = self.0.poll_event() {
            if out.len() > 1 {
                out.push(',');
            }
            e.write_json(&mut out);
        }
        out.push(']');
        out
    }
}
