//! Monitor options: which chardev a QMP monitor uses. The storage daemon
//! reads `--monitor` in keyval syntax (`MonitorOptions`), the system
//! emulator `-mon` in QemuOpts syntax (whose default mode is the human
//! monitor) and `-qmp CHARDEV` as a legacy spelling. qjob's monitors speak
//! QMP only, and write it compactly (`pretty` is refused).

use crate::opts::keyval;
use crate::opts::qemuopts::{self, OptDescs, OptType, Parsed, parse_bool};

/// `-mon`'s options.
pub const MON_OPTS: OptDescs = Some(&[
    ("mode", OptType::Str),
    ("chardev", OptType::Str),
    ("pretty", OptType::Bool),
]);

/// Reads `MonitorOptions` (`id`, `mode`, `pretty`, `chardev`, in QAPI's
/// order, then unexpected members): returns the chardev of a QMP monitor.
/// `hmp_default` is the system emulator's default mode (`readline`).
fn monitor_options(
    get: impl Fn(&str) -> Option<String>,
    keys: &[String],
    hmp_default: bool,
) -> Result<String, String> {
    let mode = match get("mode").as_deref() {
        None => None,
        Some("control") => Some(false),
        Some("readline") => Some(true),
        Some(other) => return Err(format!("Parameter 'mode' does not accept value '{other}'")),
    };
    let pretty = match get("pretty") {
        None => false,
        Some(p) => parse_bool(&p).ok_or("Parameter 'pretty' expects 'on' or 'off'")?,
    };
    let chardev = get("chardev").ok_or("Parameter 'chardev' is missing")?;
    if let Some(k) = keys
        .iter()
        .find(|k| !matches!(k.as_str(), "id" | "mode" | "pretty" | "chardev"))
    {
        return Err(format!("Parameter '{k}' is unexpected"));
    }
    let readline = mode.unwrap_or(hmp_default);
    if readline && !hmp_default {
        return Err("Only QMP is supported".into());
    }
    if readline {
        return Err("qjob models QMP monitors only (mode=control)".into());
    }
    if pretty {
        return Err("qjob does not model pretty-printed QMP (pretty=on)".into());
    }
    Ok(chardev)
}

/// The storage daemon's `--monitor [chardev=]NAME[,mode=control][,pretty=on|off]`:
/// the chardev of the monitor.
pub fn qsd_monitor(text: &str) -> Result<String, String> {
    let (map, is_keyval) = keyval::parse_str(text, Some("chardev"))?;
    let keys: Vec<String> = map.keys().cloned().collect();
    let get = |k: &str| {
        map.get(k).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    if !is_keyval {
        // The JSON form: QAPI types, not strings.
        if let Some(v) = map.get("pretty").filter(|v| !v.is_boolean()) {
            let _ = v;
            return Err("Invalid parameter type for 'pretty', expected: boolean".into());
        }
        let get_json = |k: &str| match map.get(k) {
            Some(serde_json::Value::Bool(b)) => Some(if *b { "on".into() } else { "off".into() }),
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => Some(String::new()),
            None => None,
        };
        return monitor_options(get_json, &keys, false);
    }
    monitor_options(get, &keys, false)
}

/// The system emulator's `-mon [chardev=]NAME[,mode=readline|control][,pretty=on|off]`.
pub fn system_mon(text: &str) -> Result<String, String> {
    let opts = match qemuopts::parse(text, Some("chardev"), MON_OPTS)? {
        Parsed::Opts(o) => o,
        Parsed::Help => return Err("qjob has no help for -mon".into()),
    };
    let keys: Vec<String> = opts.keys().into_iter().map(str::to_owned).collect();
    monitor_options(|k| opts.get(k).map(str::to_owned), &keys, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qsd_monitors() {
        assert_eq!(qsd_monitor("stdio"), Ok("stdio".into()));
        assert_eq!(
            qsd_monitor("chardev=m0,mode=control,pretty=off"),
            Ok("m0".into())
        );
        // QEMU 7.2.22's refusals.
        assert_eq!(
            qsd_monitor("mode=control"),
            Err("Parameter 'chardev' is missing".into())
        );
        assert_eq!(
            qsd_monitor("a,mode=foo"),
            Err("Parameter 'mode' does not accept value 'foo'".into())
        );
        assert_eq!(
            qsd_monitor("a,pretty=x"),
            Err("Parameter 'pretty' expects 'on' or 'off'".into())
        );
        assert_eq!(
            qsd_monitor("a,mode=readline"),
            Err("Only QMP is supported".into())
        );
        assert_eq!(
            qsd_monitor("chardev=a,pretty=on,x=1"),
            Err("Parameter 'x' is unexpected".into())
        );
        assert_eq!(qsd_monitor(r#"{"chardev": "a"}"#), Ok("a".into()));
    }

    #[test]
    fn system_mons() {
        assert_eq!(system_mon("chardev=mon,mode=control"), Ok("mon".into()));
        assert_eq!(system_mon("mon,mode=control"), Ok("mon".into()));
        assert_eq!(
            system_mon("a,mode=foo"),
            Err("Parameter 'mode' does not accept value 'foo'".into())
        );
        assert_eq!(
            system_mon("a,bogus=1"),
            Err("Invalid parameter 'bogus'".into())
        );
        assert_eq!(
            system_mon("mode=control"),
            Err("Parameter 'chardev' is missing".into())
        );
        // The human monitor is the default, and qjob has none.
        assert!(system_mon("mon").unwrap_err().contains("QMP monitors only"));
    }
}
