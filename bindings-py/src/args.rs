//! Arguments converted with errors that name the argument and say what it
//! must be: the integers, and the `data` and `devices` lists. pyo3's own
//! conversions name neither ("can't convert negative int to unsigned",
//! "Python int too large to convert to C long"); these answer as Python's
//! own functions do: `TypeError` for a value that is not an `int`,
//! `ValueError` for a negative one where only non-negative values exist,
//! `OverflowError` beyond the range. Values the core refuses in QEMU's words
//! (a negative `speed`, an `errno` that is not positive) pass through to it.
//!
//! Each function is a `#[pyo3(from_py_with = …)]` extractor for one argument
//! name.

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString};

/// `obj` as a `T`, or the error for argument `name`, which must be `what`.
fn int<T: TryFrom<i128>>(obj: &Bound<'_, PyAny>, name: &str, what: &str) -> PyResult<T> {
    if !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be {what}, not {}",
            obj.get_type().name()?
        )));
    }
    // Beyond 128 bits is out of range for every T.
    if let Some(v) = obj.extract::<i128>().ok().and_then(|v| T::try_from(v).ok()) {
        return Ok(v);
    }
    let msg = format!("{name} must be {what}, not {}", shown(obj));
    let unsigned = T::try_from(-1).is_err();
    Err(if unsigned && obj.lt(0)? {
        PyValueError::new_err(msg)
    } else {
        PyOverflowError::new_err(msg)
    })
}

/// The value as an error message shows it (its `repr`).
fn shown(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map_or_else(|_| "that value".into(), |r| r.to_string())
}

macro_rules! int_args {
    ($($fn:ident $(($name:literal))?: $t:ty = $what:literal;)*) => {$(
        #[doc = concat!("The `", int_args!(@name $fn $($name)?), "` argument: ", $what, ".")]
        pub fn $fn(obj: &Bound<'_, PyAny>) -> PyResult<$t> {
            int(obj, int_args!(@name $fn $($name)?), $what)
        }
    )*};
    (@name $fn:ident) => { stringify!($fn) };
    (@name $fn:ident $name:literal) => { $name };
}

const U64: &str = "an int from 0 to 2**64-1";

int_args! {
    ns: u64 = "an int from 0 to 2**64-1 (nanoseconds of virtual time)";
    now_ns: u64 = "an int from 0 to 2**64-1 (virtual time in nanoseconds)";
    until_ns: u64 = "an int from 0 to 2**64-1 (virtual time in nanoseconds)";
    timeout_ns: u64 = "an int from 0 to 2**64-1 (nanoseconds of virtual time)";
    epoch_ns: u64 = "an int from 0 to 2**64-1 (nanoseconds since the Unix epoch)";
    speed: i64 = "an int from 0 to 2**63-1 (bytes per second, 0 for no limit)";
    buf_size: i64 = "an int from 0 to 2**63-1 (bytes, 0 for the default)";
    granularity: u64 = "an int from 0 to 2**64-1 (bytes, 0 for the default)";
    size: u64 = "an int from 0 to 2**64-1 (bytes)";
    current: u64 = "an int from 0 to 2**64-1 (bytes)";
    total: u64 = "an int from 0 to 2**64-1 (bytes)";
    bytes: u64 = "an int from 0 to 2**64-1";
    errno: i32 = "a positive errno value (an int below 2**31)";
    ret: i32 = "0 or a negative errno value (an int from -2**31 to 0)";
    raw: u64 = "an int from 0 to 2**64-1 (a handle's raw form)";
    current_progress: u64 = "an int from 0 to 2**64-1";
    total_progress: u64 = "an int from 0 to 2**64-1";
    len: u64 = "an int from 0 to 2**64-1";
    offset: u64 = "an int from 0 to 2**64-1";
    speed_u64("speed"): u64 = "an int from 0 to 2**64-1";
}

/// The `data` argument of `add_image`: `(offset, length)` pairs of
/// non-negative ints.
pub fn data(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(u64, u64)>> {
    const WHAT: &str = "a list of (offset, length) pairs of ints from 0 to 2**64-1 (bytes)";
    let pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = obj
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("data must be {WHAT}, not {}", shown(obj))))?;
    pairs
        .iter()
        .map(|(o, l)| Ok((int(o, "data offset", U64)?, int(l, "data length", U64)?)))
        .collect()
}

/// The `devices` argument of the `snapshot_*` commands: a list of node
/// names (a lone `str` is refused rather than read as a list of letters).
pub fn devices(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let list = if obj.is_instance_of::<PyString>() {
        None
    } else {
        obj.extract::<Vec<String>>().ok()
    };
    list.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "devices must be a list of node names (str), not {}",
            shown(obj)
        ))
    })
}
